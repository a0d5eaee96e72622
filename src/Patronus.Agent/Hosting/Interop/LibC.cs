using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Patronus.Agent.Hosting.Interop;

internal static partial class LibC
{
    public const int LockExclusive = 2;
    public const int LockNonBlocking = 4;
    public const int EWouldBlock = 11;

    /// <summary>flock(2): an advisory lock the kernel drops when the process dies, however it dies.</summary>
    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(SafeFileHandle fd, int operation);

    public const int OReadWrite = 2;
    public const int OCreate = 0x40;
    public const int OExclusive = 0x80;
    public const int OCloExec = 0x80000;
    public const int EExist = 17;
    public const uint OwnerReadWrite = 0b110_000_000;

    /// <summary>
    /// open(2) with an explicit mode. File.OpenHandle would take .NET's own advisory flock on the file, which
    /// would fight the lock taken here, and cannot give the mode of a file it creates.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "umask")]
    public static partial uint Umask(uint mask);
}
