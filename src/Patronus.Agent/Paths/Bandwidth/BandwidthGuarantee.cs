using System.Net;

namespace Patronus.Agent.Paths.Bandwidth;

/// <summary>
/// A pod's guaranteed minimum on a tunnel's egress (<c>patronus.io/min-bandwidth-mbps</c>). A dual-stack pod is
/// one guarantee with both addresses: its IPv4 and IPv6 traffic share one class, so it gets the minimum once.
/// </summary>
/// <param name="Addresses">The pod's source addresses on the tunnel (IPv4 and/or IPv6).</param>
/// <param name="MinMbps">The minimum in Mbit/s of payload, as the user counts it.</param>
public sealed record BandwidthGuarantee(IReadOnlyList<IPAddress> Addresses, double MinMbps)
{
    public BandwidthGuarantee(IPAddress address, double minMbps)
        : this([address], minMbps)
    {
    }

    public override string ToString() => $"{string.Join(",", Addresses)} ≥ {MinMbps} Mbit/s";
}
