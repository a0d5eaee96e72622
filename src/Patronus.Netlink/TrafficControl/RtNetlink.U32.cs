using System.Net.Sockets;
using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>
    /// Puts packets from <paramref name="source"/> leaving <paramref name="linkIndex"/> into HTB class
    /// <paramref name="classId"/>: a u32 filter on the qdisc <paramref name="parent"/> (e.g. 1:0) at
    /// <paramref name="priority"/>, matching the IPv4 or IPv6 source address. This is how a pod's guaranteed
    /// minimum reaches its class on a tunnel's egress: the pod's address is what identifies it there (pod source
    /// addresses are kept across the mesh), it needs no mark (this kernel has no `fw` classifier and u32 ignores
    /// `match mark`) and no BPF program. Give each source its own priority: <see cref="FilterDelU32"/> then
    /// removes exactly that source's filter.
    /// </summary>
    public void FilterAddU32Source(int linkIndex, uint parent, ushort priority, IpPrefix source, uint classId)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        if (priority == 0)
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "a filter priority must be 1-65535 (0 lets the kernel pick one we could not delete by)");
        if (source.Address is null || source.PrefixLength <= 0 || source.PrefixLength > source.MaxPrefixLength)
            throw new ArgumentOutOfRangeException(nameof(source), source.ToString(), "a source network needs a prefix length from 1 to its family's maximum (all traffic is the HTB default class's)");
        if (TcHandle.Minor(classId) == 0)
            throw new ArgumentOutOfRangeException(nameof(classId), TcHandle.Format(classId), "a class id needs a non-zero minor (like 1:10)");
        var writer = _socket.Writer();
        U32Messages.NewSourceFilter(ref writer, _socket.NextSequence(), linkIndex, parent, priority, source, classId);
        _socket.Execute(ref writer, $"add u32 filter (source {source} to class {TcHandle.Format(classId)}, priority {priority}) on", Describe(linkIndex));
    }

    /// <summary>Deletes the filters at <paramref name="priority"/> for one address family under <paramref name="parent"/>; false when there were none.</summary>
    public bool FilterDelU32(int linkIndex, uint parent, ushort priority, AddressFamily family)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        U32Messages.DeleteFilters(ref writer, _socket.NextSequence(), linkIndex, parent, priority, family);
        return ExecuteDelete(ref writer, $"delete filters at priority {priority} on", Describe(linkIndex));
    }
}
