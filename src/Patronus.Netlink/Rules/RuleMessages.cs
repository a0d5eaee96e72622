using System.Net.Sockets;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Rules;

/// <summary>
/// Encodes RTM_*RULE: struct fib_rule_hdr (12 bytes: family, dst_len, src_len, tos, table, 2 reserved, action,
/// u32 flags) followed by FRA_* attributes (linux/fib_rules.h). Attribute order and the table's placement
/// follow iproute2: a table below 256 only in the header, a larger one only in FRA_TABLE.
/// </summary>
internal static class RuleMessages
{
    internal const int HeaderLength = 12;

    private const ushort AttributeDestination = 1;
    private const ushort AttributeSource = 2;
    private const ushort AttributePriority = 6;
    private const ushort AttributeMark = 10;
    private const ushort AttributeTable = 15;
    private const ushort AttributeMask = 16;
    private const ushort AttributeProtocol = 21;

    public static void Write(ref NetlinkMessageWriter writer, ushort type, ushort flags, uint sequence, RoutingRule rule)
    {
        writer.BeginMessage(type, flags, sequence);
        writer.WriteByte(NetlinkMessageWriter.AddressFamilyByte(rule.Family));
        writer.WriteByte((byte)(rule.Destination?.PrefixLength ?? 0));
        writer.WriteByte((byte)(rule.Source?.PrefixLength ?? 0));
        writer.WriteByte(0); // tos
        writer.WriteByte(rule.Table is > 0 and < 256 ? (byte)rule.Table : (byte)0);
        writer.WriteByte(0);
        writer.WriteByte(0);
        // iproute2 leaves the action unspecified on delete: the kernel then matches rules of any action.
        writer.WriteByte(type == RouteMessageType.DeleteRule ? (byte)RuleAction.Unspecified : (byte)rule.Action);
        writer.WriteUInt32(0);

        if (rule.Source is { } source && source.PrefixLength > 0)
        {
            writer.WriteAttributeAddress(AttributeSource, source.Network().Address);
        }

        if (rule.Destination is { } destination && destination.PrefixLength > 0)
        {
            writer.WriteAttributeAddress(AttributeDestination, destination.Network().Address);
        }

        if (rule.Mark is { } mark)
        {
            writer.WriteAttributeUInt32(AttributeMark, mark);
        }

        if (rule.Mask is { } mask)
        {
            writer.WriteAttributeUInt32(AttributeMask, mask);
        }

        if (rule.Table >= 256)
        {
            writer.WriteAttributeUInt32(AttributeTable, (uint)rule.Table);
        }

        if (rule.Priority is { } priority)
        {
            writer.WriteAttributeUInt32(AttributePriority, (uint)priority);
        }

        if (rule.Protocol is { } protocol)
        {
            writer.WriteAttributeByte(AttributeProtocol, (byte)protocol);
        }
    }

    public static void Dump(ref NetlinkMessageWriter writer, uint sequence, byte family)
    {
        writer.BeginMessage(RouteMessageType.GetRule, RequestFlags.Dump, sequence);
        writer.WriteByte(family);
        writer.Reserve(HeaderLength - 1);
    }

    public static RoutingRule Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWRULE reply shorter than struct fib_rule_hdr");
        }

        var family = payload[0] == Family.Inet6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var destinationLength = payload[1];
        var sourceLength = payload[2];
        int table = payload[4];
        var action = (RuleAction)payload[7];
        int? priority = null;
        uint? mark = null;
        uint? mask = null;
        IpPrefix? source = null;
        IpPrefix? destination = null;
        RouteProtocol? protocol = null;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case AttributeSource:
                    source = new IpPrefix(AttributeValue.ReadAddress(value), sourceLength);
                    break;
                case AttributeDestination:
                    destination = new IpPrefix(AttributeValue.ReadAddress(value), destinationLength);
                    break;
                case AttributePriority:
                    priority = HostOrder.ReadInt32(value);
                    break;
                case AttributeMark:
                    mark = HostOrder.ReadUInt32(value);
                    break;
                case AttributeMask:
                    mask = HostOrder.ReadUInt32(value);
                    break;
                case AttributeTable:
                    table = HostOrder.ReadInt32(value);
                    break;
                case AttributeProtocol:
                    protocol = (RouteProtocol)value[0];
                    break;
            }
        }

        return new RoutingRule
        {
            Family = family,
            Priority = priority,
            Table = table,
            Mark = mark,
            Mask = mask,
            Source = source,
            Destination = destination,
            Protocol = protocol,
            Action = action,
        };
    }
}
