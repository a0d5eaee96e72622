using System.Net;

namespace Patronus.Netlink;

/// <summary>
/// Comparisons between networks that the agent's routing, mesh and services and the lab's address plan all make (one
/// implementation, so that the lab and the agent cannot disagree on what overlaps).
/// </summary>
public static class NetworkRanges
{
    /// <summary>Whether two networks share an address; networks of different families never do.</summary>
    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));

    /// <summary>Whether <paramref name="inner"/> lies wholly inside <paramref name="outer"/>.</summary>
    public static bool Within(IPNetwork inner, IPNetwork outer) =>
        inner.BaseAddress.AddressFamily == outer.BaseAddress.AddressFamily && inner.PrefixLength >= outer.PrefixLength && outer.Contains(inner.BaseAddress);

    /// <summary>
    /// Parses a network in CIDR notation and refuses host bits ("10.244.0.1/16"), which <see cref="IPNetwork.TryParse(string, out IPNetwork)"/>
    /// would quietly clear: a pod range written that way is a mistake to report, not to guess at.
    /// </summary>
    public static bool TryParseNetwork(string? text, out IPNetwork network)
    {
        network = default;
        if (text is null || !IPNetwork.TryParse(text, out var parsed))
            return false;
        var slash = text.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address) || !address.Equals(parsed.BaseAddress))
            return false;
        network = parsed;
        return true;
    }
}
