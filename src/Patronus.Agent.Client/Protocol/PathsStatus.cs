namespace Patronus.Agent.Client.Protocol;

/// <summary>The WAN paths to other clusters as one gateway's agent probes and chooses them (<c>patronus paths</c>).</summary>
public sealed record PathsStatus
{
    public string ClusterId { get; init; } = "";

    public string Node { get; init; } = "";

    /// <summary>Whether this node is a gateway: only a gateway probes paths and steers pods onto them.</summary>
    public bool Gateway { get; init; }

    /// <summary>Why there is nothing to show (not a gateway, mesh off); null when the paths are probed.</summary>
    public string? Problem { get; init; }

    public double ProbeIntervalMs { get; init; }

    /// <summary>One per path and remote member.</summary>
    public PathReport[] Paths { get; init; } = [];

    /// <summary>The path each QoS class uses now, per remote member.</summary>
    public PathChoiceReport[] Classes { get; init; } = [];

    /// <summary>Pods whose own annotations (max-latency-ms, min-bandwidth-mbps) give them a choice of their own.</summary>
    public PodPathReport[] Pods { get; init; } = [];
}

/// <summary>One path to one remote member: its probe measurements, score and state.</summary>
public sealed record PathReport
{
    /// <summary>The path's id (in the lab, its WAN link's: "fast").</summary>
    public string Id { get; init; } = "";

    public string Remote { get; init; } = "";

    public string RemoteGateway { get; init; } = "";

    /// <summary>The tunnel device the path's traffic leaves by.</summary>
    public string Device { get; init; } = "";

    /// <summary>Up, Degraded or Down.</summary>
    public string State { get; init; } = "";

    /// <summary>0 to 100.</summary>
    public double Score { get; init; }

    /// <summary>Smoothed round trip; null before the first answer.</summary>
    public double? LatencyMs { get; init; }

    public double? JitterMs { get; init; }

    public double LossPercent { get; init; }

    public double? CapacityMbps { get; init; }

    public double? SpareMbps { get; init; }

    /// <summary>How many times traffic has moved off this path.</summary>
    public long Failovers { get; init; }

    public double StateSinceSeconds { get; init; }
}

/// <summary>The path a QoS class uses now towards one remote member, and why.</summary>
public sealed record PathChoiceReport
{
    public string QosClass { get; init; } = "";

    public string Remote { get; init; } = "";

    /// <summary>Null when no path is usable.</summary>
    public string? Path { get; init; }

    public string Reason { get; init; } = "";
}

/// <summary>A pod with a path choice of its own (its annotations ask more than its class does).</summary>
public sealed record PodPathReport
{
    public string Namespace { get; init; } = "";

    public string Name { get; init; } = "";

    public string[] Ips { get; init; } = [];

    public string QosClass { get; init; } = "";

    public double? MaxLatencyMs { get; init; }

    public double? MinBandwidthMbps { get; init; }

    public string Remote { get; init; } = "";

    public string? Path { get; init; }
}
