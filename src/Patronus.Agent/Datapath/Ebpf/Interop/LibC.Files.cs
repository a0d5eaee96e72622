using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

internal static unsafe partial class LibC
{
    /// <summary>BPF_FS_MAGIC from linux/magic.h: f_type of a bpffs.</summary>
    public const long BpfFsMagic = 0xcafe4a11;

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string fileSystemType, ulong flags, string? data);

    /// <summary>statfs(2); only f_type (the first field of struct statfs on 64-bit Linux) is read.</summary>
    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatFs(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
