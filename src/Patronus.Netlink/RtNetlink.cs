using Patronus.Netlink.Protocol;

namespace Patronus.Netlink;

/// <summary>
/// An rtnetlink handle bound to one network namespace: the one it was opened in. One socket and one
/// pair of reusable buffers per handle; use a handle from one thread at a time.
/// </summary>
public sealed partial class RtNetlink : IDisposable
{
    private const int NetlinkRoute = 0;

    private readonly NetlinkSocket _socket;

    private RtNetlink(NetlinkSocket socket) => _socket = socket;

    /// <summary>Opens a handle in the calling thread's current network namespace.</summary>
    public static RtNetlink Open() => new(NetlinkSocket.Open(NetlinkRoute));

    /// <summary>
    /// Opens a handle inside <paramref name="ns"/>. A netlink socket stays bound to the namespace it was
    /// created in, so the handle can be used from any thread afterwards.
    /// </summary>
    public static RtNetlink OpenIn(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.Run(Open);
    }

    /// <summary>
    /// Like <see cref="OpenIn"/>, but enters <paramref name="ns"/> on the calling thread for the one socket()
    /// call instead of on a new thread. For a single-threaded short-lived process such as the plugin, where
    /// the thread start is a measurable part of an ADD; long-running processes use <see cref="OpenIn"/>.
    /// </summary>
    public static RtNetlink OpenInFromThisThread(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.RunOnThisThread(Open);
    }

    public void Dispose() => _socket.Dispose();

    private static void CheckIndex(int index, string paramName)
    {
        if (index <= 0)
        {
            throw new ArgumentOutOfRangeException(paramName, index, "interface index must be positive");
        }
    }

    private static string Describe(int index) => $"link #{index}";
}
