using Patronus.Netlink.Generic;
using Patronus.Netlink.Interop;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink;

/// <summary>
/// A generic netlink (NETLINK_GENERIC) handle bound to one network namespace, beside <see cref="RtNetlink"/>:
/// resolves families by name and carries the requests of families built on it (WireGuard's, in
/// Patronus.WireGuard). One socket and one pair of reusable buffers; use a handle from one thread at a time.
/// </summary>
public sealed class GenericNetlink : IDisposable
{
    private const int NetlinkGeneric = 16;

    private GenericNetlink(NetlinkSocket socket) => Socket = socket;

    /// <summary>The socket, for family encoders in sibling assemblies (the protocol layer is internal).</summary>
    internal NetlinkSocket Socket { get; }

    /// <summary>Opens a handle in the calling thread's current network namespace.</summary>
    public static GenericNetlink Open() => new(NetlinkSocket.Open(NetlinkGeneric));

    /// <summary>Opens a handle inside <paramref name="ns"/> (on a dedicated thread); usable from any thread afterwards.</summary>
    public static GenericNetlink OpenIn(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.Run(Open);
    }

    /// <summary>
    /// The family called <paramref name="name"/>; a <see cref="NetlinkException"/> with
    /// <see cref="NetlinkException.IsNotFound"/> when the kernel has no such family (its module is not loaded).
    /// </summary>
    public GenericFamily ResolveFamily(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var writer = Socket.Writer();
        GenericMessages.GetFamily(ref writer, Socket.NextSequence(), name);
        var holder = new GenericFamily?[1];
        Socket.Query(ref writer, "resolve generic netlink family", $"\"{name}\"", holder, static (h, in message) =>
        {
            if (message.Type == GenericMessages.ControllerId)
            {
                h[0] = GenericMessages.ParseFamily(message);
            }
        });

        return holder[0] ?? throw new NetlinkException("resolve generic netlink family", $"\"{name}\"", Errno.ENOENT, "the controller sent no family");
    }

    /// <summary>Like <see cref="ResolveFamily"/>, but null when the kernel has no such family.</summary>
    public GenericFamily? TryResolveFamily(string name)
    {
        try
        {
            return ResolveFamily(name);
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENOENT)
        {
            return null;
        }
    }

    /// <summary>Every family the kernel has registered.</summary>
    public IReadOnlyList<GenericFamily> FamilyList()
    {
        var writer = Socket.Writer();
        GenericMessages.DumpFamilies(ref writer, Socket.NextSequence());
        var families = new List<GenericFamily>();
        Socket.Dump(ref writer, "list", "generic netlink families", families, static (list, in message) =>
        {
            if (message.Type == GenericMessages.ControllerId)
            {
                list.Add(GenericMessages.ParseFamily(message));
            }
        });

        return families;
    }

    public void Dispose() => Socket.Dispose();
}
