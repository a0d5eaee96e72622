using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink;

/// <summary>
/// An address with a prefix length, host bits kept ("10.1.0.5/24"): what an interface address is.
/// (<see cref="IPNetwork"/> refuses host bits, so it cannot say this.)
/// </summary>
public readonly record struct IpPrefix(IPAddress Address, int PrefixLength)
{
    public AddressFamily Family => Address.AddressFamily;

    public int MaxPrefixLength => Family == AddressFamily.InterNetwork ? 32 : 128;

    public bool IsIPv4 => Family == AddressFamily.InterNetwork;

    /// <summary>The default destinations 0.0.0.0/0 and ::/0.</summary>
    public static IpPrefix DefaultIPv4 => new(IPAddress.Any, 0);

    public static IpPrefix DefaultIPv6 => new(IPAddress.IPv6Any, 0);

    public static IpPrefix Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            throw new FormatException($"\"{text}\" is not an address with a prefix length (like 10.1.0.5/24 or fd00::5/64)");
        }

        var prefix = new IpPrefix(address, length);
        prefix.Validate(nameof(text));
        return prefix;
    }

    /// <summary>The network: host bits cleared.</summary>
    public IpPrefix Network()
    {
        Span<byte> bytes = stackalloc byte[16];
        Address.TryWriteBytes(bytes, out var count);
        bytes = bytes[..count];
        for (var bit = PrefixLength; bit < count * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IpPrefix(new IPAddress(bytes), PrefixLength);
    }

    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == Family && new IpPrefix(address, PrefixLength).Network() == Network();
    }

    public override string ToString() => $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    internal void Validate(string paramName)
    {
        if (Address is null)
        {
            throw new ArgumentException("prefix has no address", paramName);
        }

        if (Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"address {Address} is neither IPv4 nor IPv6", paramName);
        }

        if (PrefixLength < 0 || PrefixLength > MaxPrefixLength)
        {
            throw new ArgumentOutOfRangeException(paramName, PrefixLength, $"prefix length of {Address} must be 0-{MaxPrefixLength}");
        }
    }
}
