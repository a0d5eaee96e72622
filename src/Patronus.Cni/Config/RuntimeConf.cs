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

    public static RuntimeConf Parse(JsonElement e)
    {
        var f = new JsonFields("runtimeConfig");
        var bandwidth = f.OptObject(e, "bandwidth") is { } bw ? BandwidthLimits.Parse(bw) : null;

        var ips = new List<IPAddress>();
        var i = 0;
        foreach (var text in f.OptStrings(e, "ips") ?? [])
        {
            var field = $"runtimeConfig.ips[{i++}]";
            ips.Add(text.Contains('/') ? CniJson.ParseAddressWithPrefix(text, field).Address : CniJson.ParseAddress(text, field));
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

        return new RuntimeConf(bandwidth, ips, mac, annotations);
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

    private static void Validate(JsonFields f, string direction, long rate, long burst)
    {
        if ((rate == 0) != (burst == 0))
        {
            throw f.Invalid($"runtimeConfig.bandwidth.{direction}{(rate == 0 ? "Rate" : "Burst")}",
                $"must be set when {direction}{(rate == 0 ? "Burst" : "Rate")} is set");
        }

        // tc's TBF takes the burst in bytes as a 32-bit number, and the rate in bytes per second as 64-bit.
        if (burst / 8 >= uint.MaxValue)
        {
            throw f.Invalid($"runtimeConfig.bandwidth.{direction}Burst", $"({burst} bits) exceeds the kernel's limit of {(long)uint.MaxValue * 8} bits");
        }
    }
}
