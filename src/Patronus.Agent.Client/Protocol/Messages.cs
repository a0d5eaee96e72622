namespace Patronus.Agent.Client.Protocol;

/// <summary>A pod's network endpoint as the plugin made it, registered with the agent on CNI ADD.</summary>
/// <param name="ContainerId">CNI_CONTAINERID.</param>
/// <param name="IfName">CNI_IFNAME: the interface inside the pod (eth0).</param>
/// <param name="Netns">CNI_NETNS: path of the pod's network namespace.</param>
/// <param name="PodNamespace">K8S_POD_NAMESPACE from CNI_ARGS.</param>
/// <param name="PodName">K8S_POD_NAME from CNI_ARGS.</param>
/// <param name="PodUid">K8S_POD_UID from CNI_ARGS ("" when the runtime does not pass it).</param>
/// <param name="Addresses">The pod's addresses in CIDR form, e.g. "10.244.1.5/24".</param>
/// <param name="Mac">MAC address of the pod-side interface.</param>
/// <param name="HostInterface">Name of the host-side veth.</param>
public sealed record EndpointRegistration(
    string ContainerId,
    string IfName,
    string Netns,
    string PodNamespace,
    string PodName,
    string PodUid,
    IReadOnlyList<string> Addresses,
    string Mac,
    string HostInterface);

/// <summary>The removal of one endpoint, sent on CNI DEL (or spooled while the agent is away).</summary>
public sealed record EndpointRemoval(string ContainerId, string IfName);

/// <summary>What the agent reports to `patronus status`.</summary>
public sealed record AgentStatus
{
    public string NodeName { get; init; } = "";
    /// <summary>Where cluster state comes from: "kubernetes" or "manifests".</summary>
    public string Source { get; init; } = "";
    public string Datapath { get; init; } = "";
    public bool Ready { get; init; }
    public PluginStatus Plugin { get; init; } = new();
    public BridgeStatus Bridge { get; init; } = new();
    public DatabaseStatus Database { get; init; } = new();
    public int PodsManaged { get; init; }
    public int NetworkPolicies { get; init; }
    public IReadOnlyList<TunnelStatus> Tunnels { get; init; } = [];
    /// <summary>The mesh as this agent sees it; null when the mesh is not configured.</summary>
    public MeshStatus? Mesh { get; init; }
}

/// <summary>This member of the mesh and the others it has verified (<c>patronus mesh status</c>). Never a private key.</summary>
public sealed record MeshStatus
{
    /// <summary>This cluster's or site's id.</summary>
    public string MemberId { get; init; } = "";
    /// <summary>"gateway" (this node runs the tunnel), "node" (it routes to a gateway) or "site".</summary>
    public string Role { get; init; } = "";
    public string Interface { get; init; } = "";
    public int ListenPort { get; init; }
    /// <summary>What this gateway announces: where it is reached, and the ranges behind it.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];
    public IReadOnlyList<string> Prefixes { get; init; } = [];
    /// <summary>This gateway's WireGuard public key (base64).</summary>
    public string? PublicKey { get; init; }
    public double? KeyAgeSeconds { get; init; }
    /// <summary>Why the gateway does not run although this node is one; null when it runs or is not wanted.</summary>
    public string? Problem { get; init; }
    public IReadOnlyList<MeshSiteStatus> Sites { get; init; } = [];
    /// <summary>Announcements refused since the gateway started, by reason (bad_signature, replayed, ...).</summary>
    public IReadOnlyDictionary<string, long> Rejected { get; init; } = new Dictionary<string, long>();
}

/// <summary>Another member: what it announced, and its tunnel's state on this gateway.</summary>
public sealed record MeshSiteStatus
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Endpoints { get; init; } = [];
    public IReadOnlyList<string> Prefixes { get; init; } = [];
    /// <summary>Where its tunnel sends now (WireGuard roams to where it last heard from it).</summary>
    public string? Endpoint { get; init; }
    public string? PublicKey { get; init; }
    public DateTimeOffset? LastHandshake { get; init; }
    public long ReceiveBytes { get; init; }
    public long TransmitBytes { get; init; }
    /// <summary>A handshake within WireGuard's session lifetime (180 s).</summary>
    public bool Up { get; init; }
    /// <summary>Configured in remote-clusters but not heard from (or, on a node, routed to the gateway by configuration).</summary>
    public bool Configured { get; init; }
    /// <summary>Which of the member's gateways this row is (a member may have several); null for a configured row.</summary>
    public string? Gateway { get; init; }
    /// <summary>This gateway's tunnel carries the member's prefixes (the first live gateway by name); the others stand by.</summary>
    public bool Carrier { get; init; }
    /// <summary>The gateway answers its liveness probes (true when it announced no probe port).</summary>
    public bool Live { get; init; } = true;
    /// <summary>The gateway has answered a liveness probe since it was met: one not live that never has is just met, not lost.</summary>
    public bool Answered { get; init; } = true;
}

public sealed record PluginStatus
{
    public string Path { get; init; } = "";
    public bool Installed { get; init; }
}

public sealed record BridgeStatus
{
    public string Name { get; init; } = "";
    public bool Present { get; init; }
    /// <summary>The bridge's addresses in CIDR form.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];
}

public sealed record DatabaseStatus
{
    public string Path { get; init; } = "";
    public bool Present { get; init; }
}

public sealed record TunnelStatus
{
    public string ClusterId { get; init; } = "";
    public string Interface { get; init; } = "";
    public bool Up { get; init; }
}

/// <summary>
/// One request: a JSON object on one line. <see cref="Op"/> says which of the other fields is set:
/// "register" (<see cref="Endpoint"/>), "unregister" (<see cref="Removal"/>), "status", "mesh-rotate-keys", "mesh-services" or "paths" (none).
/// </summary>
public sealed record AgentRequest
{
    public string Op { get; init; } = "";
    public EndpointRegistration? Endpoint { get; init; }
    public EndpointRemoval? Removal { get; init; }

    public static AgentRequest Register(EndpointRegistration endpoint) => new() { Op = AgentOps.Register, Endpoint = endpoint };
    public static AgentRequest Unregister(EndpointRemoval removal) => new() { Op = AgentOps.Unregister, Removal = removal };
    public static AgentRequest QueryStatus() => new() { Op = AgentOps.Status };
    public static AgentRequest RotateMeshKeys() => new() { Op = AgentOps.MeshRotateKeys };
    public static AgentRequest QueryServices() => new() { Op = AgentOps.MeshServices };
    public static AgentRequest QueryPaths() => new() { Op = AgentOps.Paths };
}

/// <summary>One reply, a JSON object on one line: ok, or an error for people; a status query also carries the status.</summary>
public sealed record AgentReply
{
    public bool Ok { get; init; }
    public string? Error { get; init; }
    public AgentStatus? Status { get; init; }

    /// <summary>The reply to "mesh-services".</summary>
    public ServicesStatus? Services { get; init; }

    /// <summary>The reply to "paths".</summary>
    public PathsStatus? Paths { get; init; }

    public static AgentReply Success(AgentStatus? status = null) => new() { Ok = true, Status = status };
    public static AgentReply Failure(string error) => new() { Ok = false, Error = error };
}

public static class AgentOps
{
    public const string Register = "register";
    public const string Unregister = "unregister";
    public const string Status = "status";
    public const string MeshRotateKeys = "mesh-rotate-keys";
    public const string MeshServices = "mesh-services";
    public const string Paths = "paths";
}
