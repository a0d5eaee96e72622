using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.TrafficControl;

/// <summary>
/// bfifo, the byte-limited FIFO (net/sched/sch_fifo.c): TCA_OPTIONS is struct tc_fifo_qopt { u32 limit } itself,
/// not nested, in requests and in dumps alike.
/// </summary>
internal static class FifoMessages
{
    private const ushort AttributeKind = 1;
    private const ushort AttributeOptions = 2;

    /// <summary><c>tc qdisc replace dev D parent P handle H bfifo limit N</c>, byte for byte: creates it, or changes its limit in place.</summary>
    public static void ReplaceBfifo(ref NetlinkMessageWriter writer, uint sequence, int index, uint handle, uint parent, uint limitBytes)
    {
        writer.BeginMessage(RouteMessageType.NewQdisc, RequestFlags.Replace, sequence);
        TcMessages.WriteHeader(ref writer, index, handle, parent, 0);
        writer.WriteAttributeString(AttributeKind, "bfifo");
        writer.WriteAttributeUInt32(AttributeOptions, limitBytes);
    }

    /// <summary>A pfifo or bfifo qdisc's limit (packets or bytes), or null for any other qdisc.</summary>
    public static FifoQdiscInfo? Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < TcMessages.HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWQDISC reply shorter than struct tcmsg");
        }

        string? kind = null;
        uint? limit = null;
        var attributes = message.Attributes(TcMessages.HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == AttributeKind)
            {
                kind = AttributeValue.IsString(value, "bfifo") ? "bfifo" : AttributeValue.IsString(value, "pfifo") ? "pfifo" : null;
            }
            else if (type == AttributeOptions && value.Length >= 4)
            {
                limit = HostOrder.ReadUInt32(value);
            }
        }

        return kind is null || limit is null
            ? null
            : new FifoQdiscInfo(HostOrder.ReadInt32(payload[4..]), HostOrder.ReadUInt32(payload[8..]), HostOrder.ReadUInt32(payload[12..]), kind, limit.Value);
    }
}
