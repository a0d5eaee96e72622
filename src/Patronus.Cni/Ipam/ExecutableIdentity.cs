using Patronus.Netlink.Interop;

namespace Patronus.Cni.Ipam;

/// <summary>
/// Which file an executable path leads to, as (device, inode) after every symlink: a symlink or a hard link to
/// patronus-cni, under any name, is patronus-cni. .NET has no API for a file's inode, hence stat(2) here.
/// </summary>
internal static class ExecutableIdentity
{
    /// <summary>The running program, as the kernel knows it (not argv[0], which the caller chooses).</summary>
    public const string Self = "/proc/self/exe";

    public static unsafe (ulong Device, ulong Inode)? Of(string path)
    {
        var buffer = stackalloc byte[Libc.StatBufferSize];
        return Libc.Stat(path, buffer) == 0 ? (*(ulong*)buffer, *(ulong*)(buffer + 8)) : null;
    }

    public static bool IsSelf(string path) => Of(path) is { } other && Of(Self) is { } self && other == self;
}
