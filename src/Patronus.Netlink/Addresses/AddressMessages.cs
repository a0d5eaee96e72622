using System.Net;
using System.Net.Sockets;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Addresses;

/// <summary>Encodes RTM_*ADDR: struct ifaddrmsg (8 bytes) followed by IFA_* attributes (linux/if_addr.h).</summary>
internal static class AddressMessages
{
    internal const int HeaderLength = 8;

    private const ushort AttributeAddress = 1;
    private const ushort AttributeLocal = 2;
    private const ushort AttributeLabel = 3;
    private const ushort AttributeBroadcast = 4;
    private const ushort AttributeFlags = 8;

    public static void Write(ref NetlinkMessageWriter writer, ushort type, ushort flags, uint sequence, int index, IpPrefix address, AddressFlags addressFlags)
    {
        writer.BeginMessage(type, flags, sequence);
        WriteHeader(ref writer, NetlinkMessageWriter.AddressFamilyByte(address.Family), (byte)address.PrefixLength, (byte)((uint)addressFlags & 0xff), 0, index);
        // Like iproute2: IFA_LOCAL is the interface's own address, IFA_ADDRESS the same for a non point-to-point link.
        writer.WriteAttributeAddress(AttributeLocal, address.Address);
        writer.WriteAttributeAddress(AttributeAddress, address.Address);
        if (type == RouteMessageType.NewAddress && address.IsIPv4 && address.PrefixLength < 31)
        {
            writer.WriteAttributeAddress(AttributeBroadcast, Broadcast(address));
        }

        // The u8 ifa_flags cannot hold flags above 0x80; IFA_FLAGS (u32) can.
        if ((uint)addressFlags > 0xff)
        {
            writer.WriteAttributeUInt32(AttributeFlags, (uint)addressFlags);
        }
    }

    public static void Dump(ref NetlinkMessageWriter writer, uint sequence, byte family)
    {
        writer.BeginMessage(RouteMessageType.GetAddress, RequestFlags.Dump, sequence);
        WriteHeader(ref writer, family, 0, 0, 0, 0);
    }

    public static AddressInfo Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWADDR reply shorter than struct ifaddrmsg");
        }

        var prefixLength = payload[1];
        var flags = (uint)payload[2];
        var scope = payload[3];
        var index = HostOrder.ReadInt32(payload[4..]);
        IPAddress? local = null;
        IPAddress? address = null;
        string? label = null;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case AttributeLocal:
                    local = AttributeValue.ReadAddress(value);
                    break;
                case AttributeAddress:
                    address = AttributeValue.ReadAddress(value);
                    break;
                case AttributeLabel:
                    label = AttributeValue.ReadString(value);
                    break;
                case AttributeFlags:
                    flags = HostOrder.ReadUInt32(value);
                    break;
            }
        }

        var own = local ?? address ?? throw new InvalidDataException("RTM_NEWADDR reply without an address");
        return new AddressInfo(index, new IpPrefix(own, prefixLength), scope, (AddressFlags)flags, label);
    }

    internal static IPAddress Broadcast(IpPrefix prefix)
    {
        Span<byte> bytes = stackalloc byte[4];
        prefix.Address.TryWriteBytes(bytes, out _);
        for (var bit = prefix.PrefixLength; bit < 32; bit++)
        {
            bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }

    private static void WriteHeader(ref NetlinkMessageWriter writer, byte family, byte prefixLength, byte flags, byte scope, int index)
    {
        writer.WriteByte(family);
        writer.WriteByte(prefixLength);
        writer.WriteByte(flags);
        writer.WriteByte(scope);
        writer.WriteInt32(index);
    }

    internal static byte FamilyByte(AddressFamily? family) => family switch
    {
        null => Family.Unspecified,
        AddressFamily.InterNetwork => Family.Inet,
        AddressFamily.InterNetworkV6 => Family.Inet6,
        _ => throw new ArgumentException($"address family {family} is not IPv4 or IPv6", nameof(family)),
    };
}
