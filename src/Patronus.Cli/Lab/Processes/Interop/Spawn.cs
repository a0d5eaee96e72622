using System.Runtime.InteropServices;

namespace Patronus.Cli.Lab.Processes.Interop;

/// <summary>
/// glibc's posix_spawn family. Unlike fork in a multi-threaded runtime, posix_spawn is safe to call from any
/// thread, and it alone gives the child what a daemon needs and <see cref="System.Diagnostics.Process"/> cannot:
/// a session of its own (setsid), standard streams on files, default signal handling.
/// </summary>
internal static unsafe partial class Spawn
{
    private const string Libc = "libc";

    // glibc's opaque types, with room to spare (x86-64: file actions 80 bytes, attributes 336, sigset_t 128).
    public const int FileActionsSize = 256;
    public const int AttributesSize = 512;
    public const int SignalSetSize = 128;

    // <spawn.h> (glibc)
    public const short SetSignalDefaults = 0x04;
    public const short SetSignalMask = 0x08;
    public const short SetSession = 0x80;

    // <fcntl.h>
    public const int ReadOnly = 0x0;
    public const int WriteOnly = 0x1;
    public const int Create = 0x40;
    public const int Append = 0x400;

    [LibraryImport(Libc, EntryPoint = "posix_spawn")]
    public static partial int PosixSpawn(out int pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int FileActionsInit(void* fileActions);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int FileActionsDestroy(void* fileActions);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_addopen")]
    public static partial int FileActionsAddOpen(void* fileActions, int fd, byte* path, int flags, uint mode);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int FileActionsAddDup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    public static partial int FileActionsAddChdir(void* fileActions, byte* path);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_init")]
    public static partial int AttributesInit(void* attributes);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_destroy")]
    public static partial int AttributesDestroy(void* attributes);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_setflags")]
    public static partial int AttributesSetFlags(void* attributes, short flags);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int AttributesSetSignalMask(void* attributes, void* signals);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int AttributesSetSignalDefaults(void* attributes, void* signals);

    [LibraryImport(Libc, EntryPoint = "sigemptyset")]
    public static partial int SignalSetEmpty(void* signals);

    [LibraryImport(Libc, EntryPoint = "sigfillset")]
    public static partial int SignalSetFill(void* signals);

    [LibraryImport(Libc, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    public const int SigKill = 9;
    public const int Esrch = 3;

    public static string Error(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
