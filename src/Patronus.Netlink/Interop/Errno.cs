namespace Patronus.Netlink.Interop;

/// <summary>The Linux errno values this library, the agent and the plugin react to (asm-generic/errno-base.h, errno.h).</summary>
internal static class Errno
{
    internal const int ENOENT = 2;
    internal const int ESRCH = 3;
    internal const int EINTR = 4;
    internal const int EAGAIN = 11;

    /// <summary>The same value as EAGAIN on Linux; what a non-blocking flock fails with when the lock is held.</summary>
    internal const int EWOULDBLOCK = EAGAIN;
    internal const int EEXIST = 17;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int ENOTTY = 25;
    internal const int EMSGSIZE = 90;
    internal const int EADDRNOTAVAIL = 99;
}
