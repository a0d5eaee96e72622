using System.Globalization;
using System.Net;
using System.Text.Json;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Config;

/// <summary>
/// <c>runtimeConfig</c>: what the runtime passes for the capabilities the plugin declares
/// (CONVENTIONS.md: <c>bandwidth</c>, <c>ips</c>, <c>mac</c>, <c>io.kubernetes.cri.pod-annotations</c>).
/// </summary>
public sealed record RuntimeConf(
    BandwidthLimits? Bandwidth,
    IReadOnlyList<IPAddress> Ips,
    byte[]? Mac,
    IReadOnlyDictionary<string, string> PodAnnotations)
{
    public static readonly RuntimeConf Empty = new(null, [], null, new Dictionary<string, string>());

    /// <summary>
    /// The <c>ips</c> given with a prefix length (CONVENTIONS.md writes them as "10.10.0.1/24"). The address is
    /// what is requested; the prefix, when given, must be the one of the range the address falls in, since that
    /// is the prefix the interface gets (host-local drops it silently, which hides a typo such as /8 for /24).
    /// </summary>
    public IReadOnlyList<RequestedPrefix> IpPrefixes { get; init; } = [];

    public static RuntimeConf Parse(JsonElement e)
    {
        var f = new JsonFields("runtimeConfig");
        var bandwidth = f.OptObject(e, "bandwidth") is { } bw ? BandwidthLimits.Parse(bw) : null;

        var ips = new List<IPAddress>();
        var prefixes = new List<RequestedPrefix>();
        var i = 0;
        foreach (var text in f.OptStrings(e, "ips") ?? [])
        {
            var field = $"runtimeConfig.ips[{i++}]";
            if (text.Contains('/'))
            {
                var (address, prefix) = CniJson.ParseAddressWithPrefix(text, field);
                ips.Add(address);
                prefixes.Add(new RequestedPrefix(address, prefix, field, text));
            }
            else
            {
                ips.Add(CniJson.ParseAddress(text, field));
            }
        }

        byte[]? mac = null;
        if (f.OptString(e, "mac") is { } macText)
        {
            mac = ParseMac(macText, "runtimeConfig.mac");
        }

        var annotations = new Dictionary<string, string>();
        if (f.OptObject(e, "io.kubernetes.cri.pod-annotations") is { } a)
        {
            foreach (var p in a.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    throw f.WrongType($"runtimeConfig.io.kubernetes.cri.pod-annotations[\"{p.Name}\"]", "a string", p.Value);
                }

                annotations[p.Name] = p.Value.GetString()!;
            }
        }

        return new RuntimeConf(bandwidth, ips, mac, annotations) { IpPrefixes = prefixes };
    }

    /// <summary>A unicast Ethernet address written as six hex pairs separated by ':' or '-'.</summary>
    public static byte[] ParseMac(string text, string field)
    {
        var parts = text.Split(':', '-');
        var mac = new byte[6];
        var ok = parts.Length == 6;
        for (var i = 0; ok && i < 6; i++)
        {
            ok = parts[i].Length == 2 && byte.TryParse(parts[i], NumberStyles.HexNumber, null, out mac[i]);
        }

        if (!ok)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{field} \"{text}\" is not a MAC address like 0a:58:0a:01:00:05");
        }

        if ((mac[0] & 1) != 0)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{field} \"{text}\" is a multicast address; an interface needs a unicast one");
        }

        return mac;
    }

    public static string FormatMac(ReadOnlySpan<byte> mac) => Convert.ToHexStringLower(mac) is var h
        ? string.Join(':', Enumerable.Range(0, mac.Length).Select(i => h.Substring(i * 2, 2)))
        : "";
}

/// <summary>
/// The <c>bandwidth</c> capability, in the reference bandwidth plugin's units: rates in bits per second,
/// bursts in bits. Zero (or absent) means no limit in that direction.
/// </summary>
public sealed record BandwidthLimits(long IngressRate, long IngressBurst, long EgressRate, long EgressBurst)
{
    public bool HasIngress => IngressRate > 0;

    public bool HasEgress => EgressRate > 0;

    public static BandwidthLimits Parse(JsonElement e)
    {
        var f = new JsonFields("runtimeConfig.bandwidth");
        var limits = new BandwidthLimits(
            Read(f, e, "ingressRate"), Read(f, e, "ingressBurst"), Read(f, e, "egressRate"), Read(f, e, "egressBurst"));
        Validate(f, "ingress", limits.IngressRate, limits.IngressBurst);
        Validate(f, "egress", limits.EgressRate, limits.EgressBurst);
        return limits;
    }

    private static long Read(JsonFields f, JsonElement e, string name)
    {
        var v = f.OptLong(e, name) ?? 0;
        return v < 0 ? throw f.Invalid($"runtimeConfig.bandwidth.{name}", $"({v}) must not be negative") : v;
    }

    /// <summary>
    /// The longest a burst may take to send at its rate. tbf keeps the bucket as a time in psched ticks in 32 bits;
    /// with the kernel's 64 ns ticks (15.625 per microsecond; 16 here, to stay clear of rounding) that is 2^32 / 16 µs.
    /// </summary>
    public const long MaxBucketMicroseconds = uint.MaxValue / 16;

    private static void Validate(JsonFields f, string direction, long rate, long burst)
    {
        var rateField = $"runtimeConfig.bandwidth.{direction}Rate";
        var burstField = $"runtimeConfig.bandwidth.{direction}Burst";
        if ((rate == 0) != (burst == 0))
        {
            throw f.Invalid(rate == 0 ? rateField : burstField, $"must be set when {direction}{(rate == 0 ? "Burst" : "Rate")} is set");
        }

        if (rate == 0)
        {
            return;
        }

        // tc's TBF takes the burst in bytes as a 32-bit number, and the rate in bytes per second as 64-bit.
        if (burst / 8 >= uint.MaxValue)
        {
            throw f.Invalid(burstField, $"({burst} bits) exceeds the kernel's limit of {(long)uint.MaxValue * 8} bits");
        }

        // tc's token bucket counts whole bytes: rates and bursts are in bits, so below 8 they are nothing.
        if (rate < 8)
        {
            throw f.Invalid(rateField, $"({rate}) must be at least 8 bits per second (tc shapes whole bytes)");
        }

        if (burst < 8)
        {
            throw f.Invalid(burstField, $"({burst}) must be at least 8 bits (tc counts the bucket in whole bytes)");
        }

        var microseconds = (double)(burst / 8) * 1_000_000 / (rate / 8);
        if (microseconds < 1)
        {
            throw f.Invalid(burstField, $"({burst} bits) drains in under a microsecond at {direction}Rate {rate}: tc needs a bucket that lasts at least 1 µs at the rate");
        }

        if (microseconds > MaxBucketMicroseconds)
        {
            throw f.Invalid(burstField,
                $"({burst} bits) takes {microseconds / 1_000_000:0} s to send at {direction}Rate {rate}: tc's token bucket lasts at most {MaxBucketMicroseconds / 1_000_000} s at the rate");
        }
    }
}

/// <summary>An entry of <c>runtimeConfig.ips</c> written with a prefix length, kept to check it against the range.</summary>
public sealed record RequestedPrefix(IPAddress Address, int PrefixLength, string Field, string Text);
