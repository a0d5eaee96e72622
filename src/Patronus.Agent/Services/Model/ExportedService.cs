using System.Net;

namespace Patronus.Agent.Services.Model;

/// <summary>A service's identity in the cluster set: KEP-1645's namespace sameness makes namespace and name enough.</summary>
public readonly record struct ServiceKey(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>How the exported Service looks (from its spec); what the announcement carries and the merge compares.</summary>
public enum ExportedServiceType
{
    ClusterSetIP,
    Headless,

    /// <summary>Not exportable (KEP-1645): the export is Valid=False with reason InvalidServiceType.</summary>
    ExternalName,
}

public enum SessionAffinity
{
    None,
    ClientIP,
}

public enum IpFamily
{
    IPv4,
    IPv6,
}

/// <summary>
/// One port of an exported Service. <see cref="TargetPort"/> is the port the endpoints listen on in the exporting cluster
/// (its EndpointSlice's port of the same name), where the ClusterSetIP's traffic is sent.
/// </summary>
public sealed record ExportedPort(string Name, string Protocol, int Port, string? AppProtocol, int TargetPort)
{
    /// <summary>What another cluster's port must equal to be the same port of the merged service (the target port is the exporter's own business).</summary>
    public bool SameServicePort(ExportedPort other) =>
        Name == other.Name && Protocol == other.Protocol && Port == other.Port && AppProtocol == other.AppProtocol;

    public override string ToString() => $"{(Name.Length == 0 ? "(unnamed)" : Name)} {Port}/{Protocol}";
}

/// <summary>A ready endpoint of an exported service in its cluster: its addresses and, for headless DNS, its hostname.</summary>
public sealed record ReadyEndpoint(IReadOnlyList<IPAddress> Addresses, string? Hostname);

/// <summary>The exported Service's properties that KEP-1645 merges across clusters.</summary>
public sealed record ExportedServiceSpec(
    ExportedServiceType Type,
    IReadOnlyList<ExportedPort> Ports,
    SessionAffinity SessionAffinity,
    int? AffinityTimeoutSeconds,
    IReadOnlyList<IpFamily> IpFamilies)
{
    /// <summary>Kubernetes' default ClientIP timeout (3 hours) when the Service gives none.</summary>
    public const int DefaultAffinityTimeoutSeconds = 10800;

    public int EffectiveAffinityTimeoutSeconds => SessionAffinity == SessionAffinity.ClientIP ? AffinityTimeoutSeconds ?? DefaultAffinityTimeoutSeconds : 0;
}

/// <summary>
/// One cluster's export of a service: the ServiceExport's creation time (the merge's precedence), the Service's spec (null
/// when the ServiceExport names no Service: Valid=False, NoService) and its ready endpoints.
/// </summary>
public sealed record ClusterExport(
    string ClusterId,
    ServiceKey Service,
    DateTimeOffset ExportCreated,
    ExportedServiceSpec? Spec,
    IReadOnlyList<ReadyEndpoint> Endpoints);
