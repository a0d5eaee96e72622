using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.ClusterSetIp;

/// <summary>The configured ClusterSetIP ranges is wrong: the message names the option and says why.</summary>
public sealed class ClusterSetIpRangeException(string message) : Exception(message);

/// <summary>
/// Hands out ClusterSetIPs (KEP-1645: one VIP per IP family of a ClusterSetIP import) from configured ranges.
///
/// Persisted, with a deterministic first choice. The allocation of record is the ServiceImport's own <c>spec.ips</c>:
/// whatever a service already holds (and no other service holds) it keeps, so recomputing the import, restarting the
/// agent or another service coming and going never moves a VIP under live connections. A new service first tries the
/// address its name hashes to, so the writer of every cluster usually picks the same VIP and a lost import gets its old
/// VIP back; only when that address is taken does it probe upwards, which depends on what is taken and is why the
/// hash alone could not be the record. The range's network and broadcast addresses (IPv4) and its subnet-router anycast
/// address (IPv6, offset zero) are never handed out.
/// </summary>
public sealed class ClusterSetIpAllocator
{
    private readonly IPNetwork? _ipv4;
    private readonly IPNetwork? _ipv6;

    public ClusterSetIpAllocator(IPNetwork? ipv4Range, IPNetwork? ipv6Range)
    {
        if (ipv4Range is { } v4 && (v4.BaseAddress.AddressFamily != AddressFamily.InterNetwork || v4.PrefixLength is < 8 or > 30))
            throw new ClusterSetIpRangeException($"option 'clusterSetIpRanges': IPv4 range {v4} must be an IPv4 network from /8 to /30");
        if (ipv6Range is { } v6 && (v6.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6 || v6.PrefixLength is < 8 or > 126))
            throw new ClusterSetIpRangeException($"option 'clusterSetIpRanges': IPv6 range {v6} must be an IPv6 network from /8 to /126");
        _ipv4 = ipv4Range;
        _ipv6 = ipv6Range;
    }

    /// <summary>Parses the option's value: one or two comma-separated CIDRs, at most one per family.</summary>
    public static ClusterSetIpAllocator Parse(string value)
    {
        IPNetwork? v4 = null, v6 = null;
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!IPNetwork.TryParse(part, out var network))
                throw new ClusterSetIpRangeException($"option 'clusterSetIpRanges': '{part}' is not a CIDR (expected e.g. 10.112.0.0/16)");
            if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? v4 is not null : v6 is not null)
                throw new ClusterSetIpRangeException($"option 'clusterSetIpRanges': more than one range of the family of {part}");
            if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
                v4 = network;
            else
                v6 = network;
        }
        if (v4 is null && v6 is null)
            throw new ClusterSetIpRangeException("option 'clusterSetIpRanges': no range given");
        return new ClusterSetIpAllocator(v4, v6);
    }

    public IPNetwork? RangeOf(IpFamily family) => family == IpFamily.IPv4 ? _ipv4 : _ipv6;

    /// <summary>
    /// The VIPs of <paramref name="service"/>, one per family in <paramref name="families"/> order (a family without a
    /// configured range is left out). <paramref name="allocated"/> is every import's current <c>spec.ips</c>, this
    /// service's included: its own are kept, the others' avoided.
    /// </summary>
    public IReadOnlyList<IPAddress> Allocate(ServiceKey service, IReadOnlyList<IpFamily> families, IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>> allocated)
    {
        var takenByOthers = allocated.Where(a => a.Key != service).SelectMany(a => a.Value).ToHashSet();
        var own = allocated.TryGetValue(service, out var mine) ? mine : [];
        var result = new List<IPAddress>();
        foreach (var family in families.Distinct())
        {
            if (RangeOf(family) is not { } range)
                continue;
            var kept = own.FirstOrDefault(ip => range.Contains(ip) && Usable(range, Offset(range, ip)) && !takenByOthers.Contains(ip));
            result.Add(kept ?? Fresh(service, family, range, takenByOthers));
        }
        return result;
    }

    private static IPAddress Fresh(ServiceKey service, IpFamily family, IPNetwork range, HashSet<IPAddress> taken)
    {
        var hostBits = (family == IpFamily.IPv4 ? 32 : 128) - range.PrefixLength;
        var size = hostBits >= 128 ? UInt128.MaxValue : (UInt128)1 << hostBits;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{service.Namespace}/{service.Name}"));
        var start = new UInt128(BitConverter.ToUInt64(hash, 8), BitConverter.ToUInt64(hash, 0)) % size;
        // The probe is bounded by the taken addresses, not the range: an IPv6 range is too large to walk.
        for (UInt128 step = 0; step <= (UInt128)taken.Count + 2 && step < size; step++)
        {
            var offset = (start + step) % size;
            if (!Usable(range, offset))
                continue;
            var candidate = At(range, offset);
            if (!taken.Contains(candidate))
                return candidate;
        }
        throw new ClusterSetIpRangeException($"option 'clusterSetIpRanges': range {range} has no free address left for {service}");
    }

    private static bool Usable(IPNetwork range, UInt128 offset)
    {
        var hostBits = (range.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) - range.PrefixLength;
        var last = hostBits >= 128 ? UInt128.MaxValue : ((UInt128)1 << hostBits) - 1;
        return offset != 0 && (range.BaseAddress.AddressFamily != AddressFamily.InterNetwork || offset != last);
    }

    private static UInt128 Offset(IPNetwork range, IPAddress ip) => ToNumber(ip) - ToNumber(range.BaseAddress);

    private static IPAddress At(IPNetwork range, UInt128 offset)
    {
        var value = ToNumber(range.BaseAddress) + offset;
        var bytes = new byte[range.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 4 : 16];
        for (var i = bytes.Length - 1; i >= 0; i--, value >>= 8)
            bytes[i] = (byte)(value & 0xff);
        return new IPAddress(bytes);
    }

    private static UInt128 ToNumber(IPAddress ip)
    {
        UInt128 value = 0;
        foreach (var b in ip.GetAddressBytes())
            value = (value << 8) | b;
        return value;
    }
}
