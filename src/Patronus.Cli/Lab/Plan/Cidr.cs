using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Patronus.Cli.Lab.Plan;

/// <summary>Address arithmetic on networks, as 128-bit integers so IPv4 and IPv6 share one code path.</summary>
public static class Cidr
{
    public static int Bits(IPNetwork network) => Bits(network.BaseAddress);

    public static int Bits(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    public static bool Overlaps(IPNetwork a, IPNetwork b) => Patronus.Netlink.NetworkRanges.Overlaps(a, b);

    /// <summary>The <paramref name="n"/>-th address of a network (0 is the network address itself).</summary>
    public static IPAddress Host(IPNetwork network, UInt128 n) => FromInteger(ToInteger(network.BaseAddress) + n, network.BaseAddress.AddressFamily);

    /// <summary>The <paramref name="n"/>-th subnet of length <paramref name="prefix"/> inside <paramref name="network"/>, or null past its end.</summary>
    public static IPNetwork? Subnet(IPNetwork network, int prefix, UInt128 n)
    {
        var bits = Bits(network);
        if (prefix < network.PrefixLength || prefix > bits)
            return null;
        var count = prefix - network.PrefixLength >= 128 ? UInt128.MaxValue : (UInt128)1 << (prefix - network.PrefixLength);
        if (n >= count)
            return null;
        var step = (UInt128)1 << (bits - prefix);
        return new IPNetwork(FromInteger(ToInteger(network.BaseAddress) + n * step, network.BaseAddress.AddressFamily), prefix);
    }

    /// <summary>
    /// The IPv6 range a cluster gets when LAB.yaml names none: fd00::/16 followed by the bits of the IPv4 range, so
    /// clusters with disjoint IPv4 ranges get disjoint IPv6 ones (10.244.0.0/16 gives fd00:af4::/32).
    /// </summary>
    public static IPNetwork DerivedV6(IPNetwork v4)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes[0] = 0xfd;
        v4.BaseAddress.GetAddressBytes().CopyTo(bytes[2..]);
        return new IPNetwork(new IPAddress(bytes), 16 + v4.PrefixLength);
    }

    private static UInt128 ToInteger(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static IPAddress FromInteger(UInt128 value, AddressFamily family)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (family == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
            return new IPAddress(bytes[..4]);
        }
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
