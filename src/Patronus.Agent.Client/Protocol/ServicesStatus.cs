namespace Patronus.Agent.Client.Protocol;

/// <summary>Multi-cluster services as one agent sees them (<c>patronus mesh services</c>).</summary>
public sealed record ServicesStatus
{
    public string ClusterId { get; init; } = "";

    /// <summary>Whether this node runs the service exchange (a gateway), and whether it is the cluster's import writer.</summary>
    public bool Gateway { get; init; }

    public bool Writer { get; init; }

    public string? Problem { get; init; }

    /// <summary>The other clusters heard from (gateways only): alive or withdrawn.</summary>
    public ServicesClusterStatus[] Clusters { get; init; } = [];

    /// <summary>This cluster's ServiceExports, with their KEP-1645 conditions (as the writer computed them).</summary>
    public ServiceExportStatus[] Exports { get; init; } = [];

    /// <summary>The ServiceImports in this cluster, as this node programs and answers them.</summary>
    public ServiceImportStatus[] Imports { get; init; } = [];
}

public sealed record ServicesClusterStatus
{
    public string Id { get; init; } = "";
    public bool Alive { get; init; }
    public double? LastHeardSecondsAgo { get; init; }
}

public sealed record ServiceExportStatus
{
    public string Namespace { get; init; } = "";
    public string Name { get; init; } = "";
    public ServiceConditionStatus[] Conditions { get; init; } = [];
}

public sealed record ServiceConditionStatus
{
    public string Type { get; init; } = "";
    public string Status { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Message { get; init; } = "";
}

public sealed record ServiceImportStatus
{
    public string Namespace { get; init; } = "";
    public string Name { get; init; } = "";
    public string Type { get; init; } = "";
    public string[] Ips { get; init; } = [];
    public string[] Ports { get; init; } = [];
    public string SessionAffinity { get; init; } = "";
    public ServiceImportClusterStatus[] Clusters { get; init; } = [];
}

public sealed record ServiceImportClusterStatus
{
    public string Cluster { get; init; } = "";
    public string[] Endpoints { get; init; } = [];
}
