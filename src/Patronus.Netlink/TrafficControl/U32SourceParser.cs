using System.Buffers.Binary;
using System.Net;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.TrafficControl;

/// <summary>
/// Reads back the u32 filters <see cref="U32Messages.NewSourceFilter"/> makes: TCA_U32_CLASSID and the keys of
/// TCA_U32_SEL inside TCA_OPTIONS (linux/pkt_cls.h), turned back into the source network they compare.
/// </summary>
internal static class U32SourceParser
{
    private const ushort AttributeKind = 1;
    private const ushort AttributeOptions = 2;
    private const ushort U32ClassId = 1;
    private const ushort U32Selector = 5;
    private const int SelectorHeaderLength = 16;
    private const int KeyLength = 16;

    public static U32SourceFilter Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < TcMessages.HeaderLength)
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
        var isU32 = false;
        ReadOnlySpan<byte> options = default;
        var attributes = message.Attributes(TcMessages.HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == AttributeKind)
            {
                isU32 = AttributeValue.IsString(value, "u32");
            }
            else if (type == AttributeOptions)
            {
                options = value;
            }
        }

        uint? classId = null;
        IpPrefix? source = null;
        if (isU32)
        {
            var reader = new AttributeReader(options);
            while (reader.TryRead(out var type, out var value))
            {
                if (type == U32ClassId && value.Length >= 4)
                {
                    classId = HostOrder.ReadUInt32(value);
                }
                else if (type == U32Selector)
                {
                    source = SourceOf(value, protocol);
                }
            }
        }

        return new U32SourceFilter(index, parent, handle, (ushort)(info >> 16), protocol, classId, source);
    }

    /// <summary>
    /// The source network a selector compares, or null when it compares anything else: keys must start at the
    /// family's source offset and follow word by word, every mask but the last full, the last contiguous from the top.
    /// </summary>
    internal static IpPrefix? SourceOf(ReadOnlySpan<byte> selector, ushort protocol)
    {
        var (sourceOffset, addressLength) = protocol switch
        {
            U32Messages.EthernetIPv4 => (12, 4),
            U32Messages.EthernetIPv6 => (8, 16),
            _ => (-1, 0),
        };
        if (sourceOffset < 0 || selector.Length < SelectorHeaderLength)
        {
            return null;
        }

        // A plain match is terminal (flags exactly TC_U32_TERMINAL) with no offset arithmetic (offshift, offmask, off,
        // offoff, hoff) and no hashing (hmask): anything else is some other rule we did not write.
        var keys = selector[2];
        if (selector[0] != 1 || selector[1] != 0 || selector[4..SelectorHeaderLength].ContainsAnyExcept((byte)0)
            || keys == 0 || keys * 4 > addressLength || selector.Length < SelectorHeaderLength + keys * KeyLength)
        {
            return null;
        }

        Span<byte> address = stackalloc byte[16];
        address.Clear();
        var prefixLength = 0;
        for (var word = 0; word < keys; word++)
        {
            var key = selector.Slice(SelectorHeaderLength + word * KeyLength, KeyLength);
            var mask = BinaryPrimitives.ReadUInt32BigEndian(key);
            var offset = HostOrder.ReadInt32(key[8..]);
            var offsetMask = HostOrder.ReadInt32(key[12..]);
            var bits = System.Numerics.BitOperations.PopCount(mask);
            var contiguous = bits == 32 || mask == ~(uint.MaxValue >> bits);
            if (offset != sourceOffset + 4 * word || offsetMask != 0 || !contiguous || bits == 0 || (bits < 32 && word != keys - 1))
            {
                return null;
            }

            key.Slice(4, 4).CopyTo(address[(4 * word)..]);
            prefixLength += bits;
        }

        return new IpPrefix(new IPAddress(address[..addressLength]), prefixLength);
    }
}
