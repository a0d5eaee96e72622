using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.TrafficControl;

/// <summary>
/// Reads an HTB qdisc's TCA_HTB_INIT back (struct tc_htb_glob { version, rate2quantum, defcls, debug, direct_pkts },
/// linux/pkt_sched.h): a shaper that finds "htb 1:" must know its default class is the one it expects, or
/// unclassified traffic leaves unshaped.
/// </summary>
internal static class HtbQdiscParser
{
    private const ushort AttributeKind = 1;
    private const ushort AttributeOptions = 2;
    private const ushort HtbInit = 2;
    private const int DefaultClassOffset = 8;

    /// <summary>The qdisc's <see cref="HtbQdiscInfo"/>, or null when it is not HTB.</summary>
    public static HtbQdiscInfo? Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < TcMessages.HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWQDISC reply shorter than struct tcmsg");
        }

        var isHtb = false;
        ReadOnlySpan<byte> options = default;
        var attributes = message.Attributes(TcMessages.HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == AttributeKind)
            {
                isHtb = AttributeValue.IsString(value, "htb");
            }
            else if (type == AttributeOptions)
            {
                options = value;
            }
        }

        if (!isHtb)
        {
            return null;
        }

        ushort defaultMinor = 0;
        var reader = new AttributeReader(options);
        while (reader.TryRead(out var type, out var value))
        {
            if (type == HtbInit && value.Length >= DefaultClassOffset + 4)
            {
                defaultMinor = (ushort)HostOrder.ReadUInt32(value[DefaultClassOffset..]);
            }
        }

        return new HtbQdiscInfo(HostOrder.ReadInt32(payload[4..]), HostOrder.ReadUInt32(payload[8..]), HostOrder.ReadUInt32(payload[12..]), defaultMinor);
    }
}
