using System.Net;

namespace Patronus.Agent.Services;

/// <summary>Settings of multi-cluster services (KEP-1645): where ClusterSetIPs come from, where DNS is served, how exports travel.</summary>
public sealed class ServicesOptions
{
    /// <summary>
    /// The ClusterSetIP ranges, one per family (<c>--clusterset-ip-range 10.112.0.0/16,fd00:112::/112</c>); null leaves the
    /// feature off. They must not overlap any cluster's pod or service ranges.
    /// </summary>
    public string? ClusterSetIpRanges { get; set; }

    /// <summary>Where this node answers the clusterset.local zone (ADDRESS:PORT); null serves no DNS on this node.</summary>
    public IPEndPoint? DnsAddress { get; set; }

    /// <summary>
    /// Whether a ClusterSetIP connection from this cluster goes only to its own endpoints when it exports the service with
    /// ready ones (per port and family); the other clusters' take over when it has none.
    /// </summary>
    public bool PreferLocal { get; set; }

    /// <summary>UDP port on gateways for the signed service announcements (beside the mesh's discovery port).</summary>
    public int ExchangePort { get; set; } = 51823;

    /// <summary>How often a gateway tells the others it is alive: the liveness signal for withdrawing a cluster's endpoints.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A cluster not heard for this long has its endpoints withdrawn (its exports stay, and return with it).</summary>
    public TimeSpan DeadAfter { get; set; } = TimeSpan.FromMilliseconds(450);

    /// <summary>How often every export is announced again (changes go at once).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An export its live cluster stopped announcing (a lost withdrawal) is dropped after this.</summary>
    public TimeSpan ExportExpiry { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A cluster silent this long is forgotten with its exports (its imports go).</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The Lease that elects the one import writer of the cluster (API server mode), in <see cref="LeaseNamespace"/>.</summary>
    public string LeaseName { get; set; } = "patronus-mcs-writer";

    public string LeaseNamespace { get; set; } = "kube-system";

    public bool Enabled => ClusterSetIpRanges is not null;
}
