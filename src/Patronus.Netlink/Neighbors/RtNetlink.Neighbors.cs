using System.Net.Sockets;
using Patronus.Netlink.Addresses;
using Patronus.Netlink.Interop;
using Patronus.Netlink.Neighbors;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>Adds an ARP/NDP entry, or replaces the one for the same address on the same link.</summary>
    public void NeighReplace(Neighbor neighbor)
    {
        CheckNeighbor(neighbor);
        var writer = _socket.Writer();
        NeighborMessages.WriteNeighbor(ref writer, RouteMessageType.NewNeighbor, RequestFlags.Replace, _socket.NextSequence(), neighbor);
        _socket.Execute(ref writer, "replace neighbour", $"{neighbor.Address} on {Describe(neighbor.LinkIndex)}");
    }

    /// <summary>Deletes the entry for the neighbour's address on its link; false when there was none (ENOENT).</summary>
    public bool NeighDel(Neighbor neighbor)
    {
        CheckNeighbor(neighbor);
        var writer = _socket.Writer();
        NeighborMessages.WriteNeighbor(ref writer, RouteMessageType.DeleteNeighbor, RequestFlags.Change, _socket.NextSequence(), neighbor);
        return ExecuteDelete(ref writer, "delete neighbour", $"{neighbor.Address} on {Describe(neighbor.LinkIndex)}");
    }

    /// <summary>Lists ARP (IPv4) and NDP (IPv6) entries, optionally of one link and one family.</summary>
    public IReadOnlyList<Neighbor> NeighList(int? linkIndex = null, AddressFamily? family = null)
    {
        var writer = _socket.Writer();
        NeighborMessages.Dump(ref writer, _socket.NextSequence(), AddressMessages.FamilyByte(family));
        var all = new List<Neighbor>();
        _socket.Dump(ref writer, "list", "neighbours", all, static (list, in message) =>
        {
            // An AF_UNSPEC dump also walks the bridge family's FDB: those are not ARP/NDP entries.
            if (message.Type == RouteMessageType.NewNeighbor
                && NeighborMessages.FamilyOf(message) is Family.Inet or Family.Inet6
                && NeighborMessages.ParseNeighbor(message) is { } neighbor)
            {
                list.Add(neighbor);
            }
        });

        return all.Where(n => (linkIndex is null || n.LinkIndex == linkIndex) && (family is null || n.Family == family)).ToList();
    }

    /// <summary>Adds an FDB entry, or replaces the entry for the same MAC on the same device (its destination too).</summary>
    public void FdbReplace(FdbEntry entry) => ModifyFdb(RequestFlags.Replace, "replace fdb entry", entry);

    /// <summary>
    /// Adds one more destination to an FDB entry (NLM_F_APPEND). A vxlan device floods frames for the all-zeros
    /// MAC to every destination appended to it: head-end replication without multicast.
    /// </summary>
    public void FdbAppend(FdbEntry entry) => ModifyFdb(RequestFlags.Append, "append fdb entry", entry);

    /// <summary>
    /// Deletes an FDB entry (with <see cref="FdbEntry.Destination"/>, only that destination of it); false when there
    /// was no entry for the MAC (ENOENT). The vxlan driver acknowledges deleting a destination that an existing
    /// entry does not have, so that case reports true although nothing changed.
    /// </summary>
    public bool FdbDel(FdbEntry entry)
    {
        CheckFdb(entry);
        var writer = _socket.Writer();
        NeighborMessages.WriteFdb(ref writer, RouteMessageType.DeleteNeighbor, RequestFlags.Change, _socket.NextSequence(), entry);
        return ExecuteDelete(ref writer, "delete fdb entry", Describe(entry));
    }

    /// <summary>Lists FDB entries, optionally of one device (bridge ports and vxlan devices alike).</summary>
    public IReadOnlyList<FdbEntry> FdbList(int? linkIndex = null)
    {
        var writer = _socket.Writer();
        NeighborMessages.Dump(ref writer, _socket.NextSequence(), Family.Bridge);
        var all = new List<FdbEntry>();
        _socket.Dump(ref writer, "list", "fdb entries", all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewNeighbor && NeighborMessages.FamilyOf(message) == Family.Bridge)
            {
                list.Add(NeighborMessages.ParseFdb(message));
            }
        });

        return linkIndex is null ? all : all.Where(e => e.LinkIndex == linkIndex).ToList();
    }

    private void ModifyFdb(ushort flags, string operation, FdbEntry entry)
    {
        CheckFdb(entry);
        var writer = _socket.Writer();
        NeighborMessages.WriteFdb(ref writer, RouteMessageType.NewNeighbor, flags, _socket.NextSequence(), entry);
        _socket.Execute(ref writer, operation, Describe(entry));
    }

    /// <summary>Runs a delete; the object being absent already (ENOENT) is success, reported as false.</summary>
    private bool ExecuteDelete(ref NetlinkMessageWriter writer, string operation, string target)
    {
        try
        {
            _socket.Execute(ref writer, operation, target);
            return true;
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENOENT)
        {
            return false;
        }
    }

    private static void CheckNeighbor(Neighbor neighbor)
    {
        ArgumentNullException.ThrowIfNull(neighbor);
        CheckIndex(neighbor.LinkIndex, nameof(neighbor.LinkIndex));
        ArgumentNullException.ThrowIfNull(neighbor.Address, nameof(neighbor.Address));
        if (neighbor.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"neighbour address {neighbor.Address} is neither IPv4 nor IPv6", nameof(neighbor.Address));
        }

        CheckMac(neighbor.Mac.Length == 0 ? null : neighbor.Mac, nameof(neighbor.Mac));
    }

    private static void CheckFdb(FdbEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        CheckIndex(entry.LinkIndex, nameof(entry.LinkIndex));
        ArgumentNullException.ThrowIfNull(entry.Mac, nameof(entry.Mac));
        CheckMac(entry.Mac, nameof(entry.Mac));
        if (entry.Destination is { } destination && destination.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"fdb destination {destination} is neither IPv4 nor IPv6", nameof(entry.Destination));
        }
    }

    private static string Describe(FdbEntry entry)
        => entry.Destination is null ? $"{entry.MacText} on {Describe(entry.LinkIndex)}" : $"{entry.MacText} dst {entry.Destination} on {Describe(entry.LinkIndex)}";
}
