using System.Runtime.InteropServices;

namespace Patronus.Cni.Ipam;

/// <summary>
/// Which file an executable path leads to, as (device, inode) after every symlink: a symlink or a hard link to
/// patronus-cni, under any name, is patronus-cni. .NET has no API for a file's inode, hence stat(2) here.
/// </summary>
internal static partial class ExecutableIdentity
{
    /// <summary>Room for struct stat on every 64-bit Linux ABI; st_dev and st_ino lead it (offsets 0 and 8) on x86_64 and arm64 alike.</summary>
    private const int StatBufferSize = 256;

    /// <summary>The running program, as the kernel knows it (not argv[0], which the caller chooses).</summary>
    public const string Self = "/proc/self/exe";

    public static unsafe (ulong Device, ulong Inode)? Of(string path)
    {
        var buffer = stackalloc byte[StatBufferSize];
        return Stat(path, buffer) == 0 ? (*(ulong*)buffer, *(ulong*)(buffer + 8)) : null;
    }

    public static bool IsSelf(string path) => Of(path) is { } other && Of(Self) is { } self && other == self;

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);
}
