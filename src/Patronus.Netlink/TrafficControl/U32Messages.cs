using System.Buffers.Binary;
using System.Net.Sockets;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.TrafficControl;

/// <summary>
/// u32 classifier messages that put a source network's packets into a class (linux/pkt_cls.h): RTM_NEWTFILTER with
/// TCA_U32_CLASSID and one TCA_U32_SEL whose keys compare the IPv4 or IPv6 header's source address.
/// </summary>
internal static class U32Messages
{
    private const ushort AttributeKind = 1;
    private const ushort AttributeOptions = 2;
    private const ushort U32ClassId = 1;
    private const ushort U32Selector = 5;
    private const byte U32Terminal = 1;

    internal const ushort EthernetIPv4 = 0x0800;
    internal const ushort EthernetIPv6 = 0x86DD;

    // Where the source address starts in each header (RFC 791 §3.1, RFC 8200 §3).
    private const int IPv4SourceOffset = 12;
    private const int IPv6SourceOffset = 8;

    /// <summary>
    /// <c>tc filter add dev D parent P protocol ip|ipv6 prio N u32 match ip|ip6 src PREFIX flowid C</c>, byte for
    /// byte: the class id attribute first, then a terminal selector with one key per 32-bit word the prefix covers
    /// (mask and value in network order, offset in host order).
    /// </summary>
    public static void NewSourceFilter(ref NetlinkMessageWriter writer, uint sequence, int index, uint parent, ushort priority, IpPrefix source, uint classId)
    {
        writer.BeginMessage(RouteMessageType.NewFilter, RequestFlags.Create, sequence);
        TcMessages.WriteHeader(ref writer, index, 0, parent, Info(priority, source.IsIPv4 ? EthernetIPv4 : EthernetIPv6));
        writer.WriteAttributeString(AttributeKind, "u32");
        var options = writer.BeginNested(AttributeOptions);
        writer.WriteAttributeUInt32(U32ClassId, classId);

        Span<byte> address = stackalloc byte[16];
        source.Network().Address.TryWriteBytes(address, out _);
        var words = (source.PrefixLength + 31) / 32;
        // struct tc_u32_sel { u8 flags, offshift, nkeys; __be16 offmask; u16 off; s16 offoff, hoff; __be32 hmask; }
        // (16 bytes with the padding byte after nkeys), then nkeys × tc_u32_key { __be32 mask, val; s32 off, offmask; }.
        Span<byte> selector = stackalloc byte[16 + 16 * 4];
        selector.Clear();
        selector[0] = U32Terminal;
        selector[2] = (byte)words;
        var baseOffset = source.IsIPv4 ? IPv4SourceOffset : IPv6SourceOffset;
        for (var word = 0; word < words; word++)
        {
            var bits = Math.Min(32, source.PrefixLength - 32 * word);
            var mask = bits == 32 ? uint.MaxValue : ~(uint.MaxValue >> bits);
            var key = selector.Slice(16 + 16 * word, 16);
            BinaryPrimitives.WriteUInt32BigEndian(key, mask);
            address.Slice(4 * word, 4).CopyTo(key[4..]);
            HostOrder.WriteUInt32(key[8..], (uint)(baseOffset + 4 * word));
        }
        writer.WriteAttribute(U32Selector, selector[..(16 + 16 * words)]);
        writer.EndNested(options);
    }

    /// <summary>Deletes every filter at one priority and protocol under <paramref name="parent"/>: <c>tc filter del dev D parent P protocol X prio N</c>.</summary>
    public static void DeleteFilters(ref NetlinkMessageWriter writer, uint sequence, int index, uint parent, ushort priority, AddressFamily family)
    {
        writer.BeginMessage(RouteMessageType.DeleteFilter, RequestFlags.Change, sequence);
        TcMessages.WriteHeader(ref writer, index, 0, parent, Info(priority, family == AddressFamily.InterNetwork ? EthernetIPv4 : EthernetIPv6));
    }

    /// <summary>tcm_info = TC_H_MAKE(priority &lt;&lt; 16, protocol) with the Ethernet protocol in network order.</summary>
    private static uint Info(ushort priority, ushort ethernetProtocol)
    {
        Span<byte> protocol = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(protocol, ethernetProtocol);
        return ((uint)priority << 16) | HostOrder.ReadUInt16(protocol);
    }
}
