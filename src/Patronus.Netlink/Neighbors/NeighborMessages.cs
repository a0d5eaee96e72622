using System.Net;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Neighbors;

/// <summary>
/// Encodes RTM_*NEIGH: struct ndmsg (12 bytes: family, 3 pad, ifindex, u16 state, u8 flags, u8 type) followed
/// by NDA_* attributes (linux/neighbour.h). ARP/NDP entries use AF_INET/AF_INET6; FDB entries use AF_BRIDGE.
/// </summary>
internal static class NeighborMessages
{
    internal const int HeaderLength = 12;

    private const ushort AttributeDestination = 1;
    private const ushort AttributeLinkLayerAddress = 2;
    private const ushort AttributeMaster = 9;

    /// <summary>ARP/NDP entry; the same attribute order as `ip neigh replace A lladdr M dev D nud permanent`.</summary>
    public static void WriteNeighbor(ref NetlinkMessageWriter writer, ushort type, ushort flags, uint sequence, Neighbor neighbor)
    {
        writer.BeginMessage(type, flags, sequence);
        WriteHeader(ref writer, NetlinkMessageWriter.AddressFamilyByte(neighbor.Family), neighbor.LinkIndex, (ushort)neighbor.State, (byte)neighbor.Flags);
        writer.WriteAttributeAddress(AttributeDestination, neighbor.Address);
        if (type != RouteMessageType.DeleteNeighbor && neighbor.Mac.Length > 0)
        {
            writer.WriteAttribute(AttributeLinkLayerAddress, neighbor.Mac);
        }
    }

    /// <summary>FDB entry; the same attribute order as `bridge fdb replace M dev D dst A self permanent`.</summary>
    public static void WriteFdb(ref NetlinkMessageWriter writer, ushort type, ushort flags, uint sequence, FdbEntry entry)
    {
        writer.BeginMessage(type, flags, sequence);
        WriteHeader(ref writer, Family.Bridge, entry.LinkIndex, (ushort)entry.State, (byte)entry.Flags);
        writer.WriteAttribute(AttributeLinkLayerAddress, entry.Mac);
        if (entry.Destination is { } destination)
        {
            writer.WriteAttributeAddress(AttributeDestination, destination);
        }
    }

    public static void Dump(ref NetlinkMessageWriter writer, uint sequence, byte family)
    {
        writer.BeginMessage(RouteMessageType.GetNeighbor, RequestFlags.Dump, sequence);
        WriteHeader(ref writer, family, 0, 0, 0);
    }

    /// <summary>The family byte of a reply, to tell FDB entries (AF_BRIDGE) from ARP/NDP entries.</summary>
    public static byte FamilyOf(in NetlinkMessage message)
        => message.Payload.Length >= HeaderLength ? message.Payload[0] : throw new InvalidDataException("RTM_NEWNEIGH reply shorter than struct ndmsg");

    /// <summary>Decodes an ARP/NDP entry; null for one without an address (never expected from the kernel).</summary>
    public static Neighbor? ParseNeighbor(in NetlinkMessage message)
    {
        var (index, state, flags) = ReadHeader(message);
        IPAddress? address = null;
        byte[] mac = [];
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case AttributeDestination:
                    address = AttributeValue.ReadAddress(value);
                    break;
                case AttributeLinkLayerAddress:
                    mac = value.ToArray();
                    break;
            }
        }

        return address is null ? null : new Neighbor { LinkIndex = index, Address = address, Mac = mac, State = state, Flags = flags };
    }

    public static FdbEntry ParseFdb(in NetlinkMessage message)
    {
        var (index, state, flags) = ReadHeader(message);
        IPAddress? destination = null;
        byte[] mac = [];
        int? master = null;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case AttributeDestination:
                    destination = AttributeValue.ReadAddress(value);
                    break;
                case AttributeLinkLayerAddress:
                    mac = value.ToArray();
                    break;
                case AttributeMaster:
                    master = HostOrder.ReadInt32(value);
                    break;
            }
        }

        return new FdbEntry { LinkIndex = index, Mac = mac, Destination = destination, State = state, Flags = flags, MasterIndex = master };
    }

    private static (int Index, NeighborState State, NeighborFlags Flags) ReadHeader(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWNEIGH reply shorter than struct ndmsg");
        }

        return (HostOrder.ReadInt32(payload[4..]), (NeighborState)HostOrder.ReadUInt16(payload[8..]), (NeighborFlags)payload[10]);
    }

    private static void WriteHeader(ref NetlinkMessageWriter writer, byte family, int index, ushort state, byte flags)
    {
        writer.WriteByte(family);
        writer.WriteByte(0);
        writer.WriteUInt16(0);
        writer.WriteInt32(index);
        writer.WriteUInt16(state);
        writer.WriteByte(flags);
        writer.WriteByte(0); // ndm_type: unused for these entries
    }
}
