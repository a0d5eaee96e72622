using System.Net;
using System.Net.Sockets;

namespace Patronus.Cni.Ipam;

/// <summary>
/// Strict address and CIDR parsing, and addresses as integers. <see cref="IPAddress.TryParse(string, out IPAddress)"/>
/// alone is too lenient for configuration: it accepts inet_aton forms ("10.1" is 10.0.0.1, "010.0.0.1" is octal),
/// scope ids and IPv4-mapped IPv6, all of which would silently give an operator an address they did not write.
/// </summary>
internal static class AddressText
{
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length == 0 || text.Length > 45 || text.Contains('%'))
            return false;

        if (text.Contains(':'))
        {
            if (!IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6
                || parsed.IsIPv4MappedToIPv6)
                return false;
            address = parsed;
            return true;
        }

        // Dotted quad only: four decimal octets without leading zeros.
        var parts = text.Split('.');
        if (parts.Length != 4)
            return false;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0'))
                return false;
            foreach (var c in part)
                if (c is < '0' or > '9')
                    return false;
            if (int.Parse(part) > 255)
                return false;
        }
        address = IPAddress.Parse(text);
        return true;
    }

    /// <summary>Parses "address/prefix"; <paramref name="address"/> may have host bits set (the caller decides).</summary>
    public static bool TryParseCidr(string text, out IPAddress address, out int prefixLength)
    {
        address = IPAddress.None;
        prefixLength = 0;
        var slash = text.IndexOf('/');
        if (slash < 0 || slash != text.LastIndexOf('/'))
            return false;
        var prefix = text.AsSpan(slash + 1);
        if (prefix.Length is 0 or > 3)
            return false;
        foreach (var c in prefix)
            if (c is < '0' or > '9')
                return false;
        if (prefix.Length > 1 && prefix[0] == '0')
            return false;
        if (!TryParseAddress(text[..slash], out address))
            return false;
        prefixLength = int.Parse(prefix);
        return prefixLength <= BitLength(address);
    }

    public static int BitLength(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    public static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        UInt128 value = 0;
        for (var i = 0; i < written; i++)
            value = (value << 8) | bytes[i];
        return value;
    }

    public static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        var length = family == AddressFamily.InterNetwork ? 4 : 16;
        Span<byte> bytes = stackalloc byte[length];
        for (var i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xff);
            value >>= 8;
        }
        return new IPAddress(bytes);
    }

    /// <summary>The mask of host bits for a prefix, as a number in the family's width.</summary>
    public static UInt128 HostMask(int prefixLength, int bitLength)
    {
        var hostBits = bitLength - prefixLength;
        return hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
    }
}
