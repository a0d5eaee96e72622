using System.Buffers.Binary;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.TrafficControl;

/// <summary>
/// Encodes RTM_*QDISC and RTM_*TFILTER: struct tcmsg (20 bytes) followed by TCA_* attributes
/// (linux/rtnetlink.h, pkt_sched.h, pkt_cls.h, tc_act/tc_mirred.h).
/// </summary>
internal static class TcMessages
{
    internal const int HeaderLength = 20;

    private const ushort AttributeKind = 1;
    private const ushort AttributeOptions = 2;

    private const ushort TbfParameters = 1;
    private const ushort TbfRate64 = 4;
    private const int TbfQoptLength = 36;
    private const byte LinkLayerEthernet = 1;

    private const ushort U32ClassId = 1;
    private const ushort U32Selector = 5;
    private const ushort U32Actions = 7;
    private const byte U32Terminal = 1;

    private const ushort ActionKind = 1;
    private const ushort ActionOptions = 2;
    private const ushort MirredParameters = 2;
    private const int MirredEgressRedirect = 1;
    private const int ActionStolen = 4;

    internal const ushort EthernetAll = 3;

    private const ushort HtbParameters = 1;
    private const ushort HtbInit = 2;
    private const ushort HtbRate64 = 6;
    private const ushort HtbCeil64 = 7;
    private const int HtbOptLength = 44;
    private const uint HtbVersion = 3;
    private const uint HtbRateToQuantum = 10;

    /// <summary>
    /// An HTB qdisc: TCA_HTB_INIT holds struct tc_htb_glob { version 3, rate2quantum 10, defcls, debug,
    /// direct_pkts }. Byte for byte what `tc qdisc add dev D root handle 1: htb default N` sends.
    /// </summary>
    public static void NewHtbQdisc(ref NetlinkMessageWriter writer, uint sequence, int index, uint handle, uint parent, ushort defaultMinor)
    {
        writer.BeginMessage(RouteMessageType.NewQdisc, RequestFlags.Create, sequence);
        WriteHeader(ref writer, index, handle, parent, 0);
        writer.WriteAttributeString(AttributeKind, "htb");
        var options = writer.BeginNested(AttributeOptions);
        Span<byte> glob = stackalloc byte[20];
        glob.Clear();
        HostOrder.WriteUInt32(glob, HtbVersion);
        HostOrder.WriteUInt32(glob[4..], HtbRateToQuantum);
        HostOrder.WriteUInt32(glob[8..], defaultMinor);
        writer.WriteAttribute(HtbInit, glob);
        writer.EndNested(options);
    }

    /// <summary>
    /// An HTB class, created or changed in place (NLM_F_CREATE without NLM_F_EXCL). TCA_HTB_PARMS holds
    /// struct tc_htb_opt { tc_ratespec rate, ceil; u32 buffer, cbuffer, quantum, level, prio }. tc also sends
    /// 1 KiB rate tables (TCA_HTB_RTAB/CTAB); kernels since 3.8 ignore them when the ratespec names a link
    /// layer (htb_change_class), so this sends linklayer ethernet and no tables. Rates past 32 bits go in
    /// TCA_HTB_RATE64/CEIL64, the u32 fields then saturated, as tc does.
    /// </summary>
    public static void ReplaceHtbClass(ref NetlinkMessageWriter writer, uint sequence, int index, uint classId, uint parent, HtbClassParameters parameters)
    {
        writer.BeginMessage(RouteMessageType.NewClass, NetlinkFlags.Request | NetlinkFlags.Ack | NetlinkFlags.Create, sequence);
        WriteHeader(ref writer, index, classId, parent, 0);
        writer.WriteAttributeString(AttributeKind, "htb");
        var options = writer.BeginNested(AttributeOptions);
        Span<byte> opt = stackalloc byte[HtbOptLength];
        opt.Clear();
        opt[1] = LinkLayerEthernet;
        HostOrder.WriteUInt32(opt[8..], (uint)Math.Min(parameters.RateBytesPerSec, uint.MaxValue));
        opt[13] = LinkLayerEthernet;
        HostOrder.WriteUInt32(opt[20..], (uint)Math.Min(parameters.CeilBytesPerSec, uint.MaxValue));
        HostOrder.WriteUInt32(opt[24..], parameters.BufferTicks);
        HostOrder.WriteUInt32(opt[28..], parameters.CeilBufferTicks);
        HostOrder.WriteUInt32(opt[40..], parameters.Priority);
        writer.WriteAttribute(HtbParameters, opt);
        if (parameters.RateBytesPerSec >= 1UL << 32)
        {
            writer.WriteAttributeUInt64(HtbRate64, parameters.RateBytesPerSec);
        }

        if (parameters.CeilBytesPerSec >= 1UL << 32)
        {
            writer.WriteAttributeUInt64(HtbCeil64, parameters.CeilBytesPerSec);
        }

        writer.EndNested(options);
    }

    public static void DeleteClass(ref NetlinkMessageWriter writer, uint sequence, int index, uint classId)
    {
        writer.BeginMessage(RouteMessageType.DeleteClass, RequestFlags.Change, sequence);
        WriteHeader(ref writer, index, classId, 0, 0);
    }

    public static void DumpClasses(ref NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RouteMessageType.GetClass, RequestFlags.Dump, sequence);
        WriteHeader(ref writer, index, 0, 0, 0);
    }

    public static TrafficClass ParseClass(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWTCLASS reply shorter than struct tcmsg");
        }

        var index = HostOrder.ReadInt32(payload[4..]);
        var handle = HostOrder.ReadUInt32(payload[8..]);
        var parent = HostOrder.ReadUInt32(payload[12..]);
        var kind = "";
        ReadOnlySpan<byte> options = default;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == AttributeKind)
            {
                kind = AttributeValue.ReadString(value);
            }
            else if (type == AttributeOptions)
            {
                options = value;
            }
        }

        HtbClassParameters? htb = null;
        if (kind == "htb")
        {
            ulong rate = 0, ceil = 0;
            uint buffer = 0, cbuffer = 0, priority = 0;
            ulong? rate64 = null, ceil64 = null;
            var reader = new AttributeReader(options);
            while (reader.TryRead(out var type, out var value))
            {
                switch (type)
                {
                    case HtbParameters when value.Length >= HtbOptLength:
                        rate = HostOrder.ReadUInt32(value[8..]);
                        ceil = HostOrder.ReadUInt32(value[20..]);
                        buffer = HostOrder.ReadUInt32(value[24..]);
                        cbuffer = HostOrder.ReadUInt32(value[28..]);
                        priority = HostOrder.ReadUInt32(value[40..]);
                        break;
                    case HtbRate64 when value.Length >= 8:
                        rate64 = HostOrder.ReadUInt64(value);
                        break;
                    case HtbCeil64 when value.Length >= 8:
                        ceil64 = HostOrder.ReadUInt64(value);
                        break;
                }
            }

            htb = new HtbClassParameters(rate64 ?? rate, ceil64 ?? ceil, buffer, cbuffer, priority);
        }

        return new TrafficClass(index, handle, parent, kind, htb);
    }

    public static void WriteHeader(ref NetlinkMessageWriter writer, int index, uint handle, uint parent, uint info)
    {
        writer.WriteByte(Family.Unspecified);
        writer.WriteByte(0);
        writer.WriteUInt16(0);
        writer.WriteInt32(index);
        writer.WriteUInt32(handle);
        writer.WriteUInt32(parent);
        writer.WriteUInt32(info);
    }

    /// <summary>A root tbf qdisc with handle 1:.</summary>
    public static void NewTbf(ref NetlinkMessageWriter writer, uint sequence, int index, TokenBucketParameters parameters)
    {
        writer.BeginMessage(RouteMessageType.NewQdisc, RequestFlags.Create, sequence);
        WriteHeader(ref writer, index, TcHandle.Make(1, 0), TcHandle.Root, 0);
        writer.WriteAttributeString(AttributeKind, "tbf");
        var options = writer.BeginNested(AttributeOptions);
        Span<byte> qopt = stackalloc byte[TbfQoptLength];
        qopt.Clear();
        // struct tc_tbf_qopt { tc_ratespec rate; tc_ratespec peakrate; u32 limit; u32 buffer; u32 mtu; }
        // tc_ratespec { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align; u16 mpu; u32 rate; }
        qopt[1] = LinkLayerEthernet;
        HostOrder.WriteUInt32(qopt[8..], (uint)Math.Min(parameters.RateBytesPerSec, uint.MaxValue));
        HostOrder.WriteUInt32(qopt[24..], parameters.LimitBytes);
        HostOrder.WriteUInt32(qopt[28..], parameters.BufferTicks);
        writer.WriteAttribute(TbfParameters, qopt);
        if (parameters.RateBytesPerSec >= 1UL << 32)
        {
            writer.WriteAttributeUInt64(TbfRate64, parameters.RateBytesPerSec);
        }

        writer.EndNested(options);
    }

    public static void NewIngress(ref NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RouteMessageType.NewQdisc, RequestFlags.Create, sequence);
        WriteHeader(ref writer, index, TcHandle.IngressQdisc, TcHandle.Ingress, 0);
        writer.WriteAttributeString(AttributeKind, "ingress");
    }

    public static void DeleteQdisc(ref NetlinkMessageWriter writer, uint sequence, int index, uint parent, uint handle)
    {
        writer.BeginMessage(RouteMessageType.DeleteQdisc, RequestFlags.Change, sequence);
        WriteHeader(ref writer, index, handle, parent, 0);
    }

    public static void DumpQdiscs(ref NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RouteMessageType.GetQdisc, RequestFlags.Dump, sequence);
        WriteHeader(ref writer, index, 0, 0, 0);
    }

    public static void DumpFilters(ref NetlinkMessageWriter writer, uint sequence, int index, uint parent)
    {
        writer.BeginMessage(RouteMessageType.GetFilter, RequestFlags.Dump, sequence);
        WriteHeader(ref writer, index, 0, parent, 0);
    }

    /// <summary>
    /// On the ingress qdisc (ffff:), a u32 filter at priority 1 for every protocol whose one all-zero key
    /// matches every packet, with classid 1:1 and a mirred "egress redirect" to <paramref name="targetIndex"/>:
    /// exactly what the reference bandwidth plugin installs to push a container's traffic through an ifb.
    /// </summary>
    public static void NewMirredRedirectAll(ref NetlinkMessageWriter writer, uint sequence, int index, int targetIndex)
    {
        writer.BeginMessage(RouteMessageType.NewFilter, RequestFlags.Create, sequence);
        // tcm_info = TC_H_MAKE(priority << 16, protocol) with the protocol in network order.
        Span<byte> protocol = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(protocol, EthernetAll);
        var info = (1u << 16) | HostOrder.ReadUInt16(protocol);
        WriteHeader(ref writer, index, 0, TcHandle.IngressQdisc, info);
        writer.WriteAttributeString(AttributeKind, "u32");
        var options = writer.BeginNested(AttributeOptions);

        // struct tc_u32_sel { u8 flags, offshift, nkeys; __be16 offmask; u16 off; s16 offoff, hoff; __be32 hmask; }
        // then nkeys × tc_u32_key { __be32 mask, val; s32 off, offmask; }: 16 + 16 bytes, all zero but two.
        Span<byte> selector = stackalloc byte[32];
        selector.Clear();
        selector[0] = U32Terminal;
        selector[2] = 1;
        writer.WriteAttribute(U32Selector, selector);
        writer.WriteAttributeUInt32(U32ClassId, TcHandle.Make(1, 1));

        var actions = writer.BeginNested(U32Actions);
        var first = writer.BeginNested(1); // actions are numbered from 1 in the order they run
        writer.WriteAttributeString(ActionKind, "mirred");
        var actionOptions = writer.BeginNested(ActionOptions);
        // struct tc_mirred { tc_gen { u32 index, capab; s32 action, refcnt, bindcnt; } s32 eaction; u32 ifindex; }
        Span<byte> mirred = stackalloc byte[28];
        mirred.Clear();
        HostOrder.WriteUInt32(mirred[8..], ActionStolen);
        HostOrder.WriteUInt32(mirred[20..], MirredEgressRedirect);
        HostOrder.WriteUInt32(mirred[24..], (uint)targetIndex);
        writer.WriteAttribute(MirredParameters, mirred);
        writer.EndNested(actionOptions);
        writer.EndNested(first);
        writer.EndNested(actions);
        writer.EndNested(options);
    }

    public static QdiscInfo ParseQdisc(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWQDISC reply shorter than struct tcmsg");
        }

        var index = HostOrder.ReadInt32(payload[4..]);
        var handle = HostOrder.ReadUInt32(payload[8..]);
        var parent = HostOrder.ReadUInt32(payload[12..]);
        var kind = "";
        ReadOnlySpan<byte> options = default;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == AttributeKind)
            {
                kind = AttributeValue.ReadString(value);
            }
            else if (type == AttributeOptions)
            {
                options = value;
            }
        }

        TokenBucketParameters? tokenBucket = null;
        if (kind == "tbf")
        {
            ulong rate = 0;
            uint limit = 0;
            uint buffer = 0;
            ulong? rate64 = null;
            var tbf = new AttributeReader(options);
            while (tbf.TryRead(out var type, out var value))
            {
                if (type == TbfParameters && value.Length >= TbfQoptLength)
                {
                    rate = HostOrder.ReadUInt32(value[8..]);
                    limit = HostOrder.ReadUInt32(value[24..]);
                    buffer = HostOrder.ReadUInt32(value[28..]);
                }
                else if (type == TbfRate64 && value.Length >= 8)
                {
                    rate64 = HostOrder.ReadUInt64(value);
                }
            }

            tokenBucket = new TokenBucketParameters(rate64 ?? rate, buffer, limit);
        }

        return new QdiscInfo(index, handle, parent, kind, tokenBucket);
    }

    public static FilterInfo ParseFilter(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWTFILTER reply shorter than struct tcmsg");
        }

        var index = HostOrder.ReadInt32(payload[4..]);
        var handle = HostOrder.ReadUInt32(payload[8..]);
        var parent = HostOrder.ReadUInt32(payload[12..]);
        var info = HostOrder.ReadUInt32(payload[16..]);
        Span<byte> protocolBytes = stackalloc byte[2];
        HostOrder.WriteUInt16(protocolBytes, (ushort)info);
        var protocol = BinaryPrimitives.ReadUInt16BigEndian(protocolBytes);
        var kind = "";
        int? redirect = null;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == AttributeKind)
            {
                kind = AttributeValue.ReadString(value);
            }
            else if (type == AttributeOptions)
            {
                redirect = FindMirredTarget(value) ?? redirect;
            }
        }

        return new FilterInfo(index, parent, handle, kind, (ushort)(info >> 16), protocol, redirect);
    }

    /// <summary>Looks through a classifier's options for an action list holding a mirred action.</summary>
    private static int? FindMirredTarget(ReadOnlySpan<byte> classifierOptions)
    {
        var options = new AttributeReader(classifierOptions);
        while (options.TryRead(out var type, out var value))
        {
            if (type != U32Actions)
            {
                continue;
            }

            var actions = new AttributeReader(value);
            while (actions.TryRead(out _, out var action))
            {
                var isMirred = false;
                ReadOnlySpan<byte> actionOptions = default;
                var fields = new AttributeReader(action);
                while (fields.TryRead(out var field, out var fieldValue))
                {
                    if (field == ActionKind)
                    {
                        isMirred = AttributeValue.IsString(fieldValue, "mirred");
                    }
                    else if (field == ActionOptions)
                    {
                        actionOptions = fieldValue;
                    }
                }

                if (!isMirred)
                {
                    continue;
                }

                var mirredFields = new AttributeReader(actionOptions);
                while (mirredFields.TryRead(out var mirredField, out var parameters))
                {
                    if (mirredField == MirredParameters && parameters.Length >= 28)
                    {
                        return HostOrder.ReadInt32(parameters[24..]);
                    }
                }
            }
        }

        return null;
    }
}
