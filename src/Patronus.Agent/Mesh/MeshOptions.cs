using System.Net;

namespace Patronus.Agent.Mesh;

/// <summary>
/// Another cluster of the set, as the operator lists it in patronus-config's <c>remote-clusters</c>: where to send
/// our announcements, and the ranges every node of this cluster routes to a gateway. Its WireGuard key and its
/// right to those ranges come only from its own signed announcements.
/// </summary>
/// <param name="Endpoint">Its gateway's WireGuard endpoint (ADDRESS:PORT); announcements go to the same address on the discovery port.</param>
public sealed record RemoteCluster(string Id, IPEndPoint Endpoint, IReadOnlyList<IPNetwork> Cidrs);

/// <summary>Settings of the mesh: who this cluster is, whom it trusts, and how its gateways run.</summary>
public sealed class MeshOptions
{
    /// <summary>This cluster's id in the set (patronus-config <c>cluster-id</c>): the member id its certificate must name.</summary>
    public string? ClusterId { get; set; }

    /// <summary>Raw Ed25519 public keys of the cluster sets whose member certificates are trusted (patronus-config <c>cluster-set-key</c>).</summary>
    public List<byte[]> SetKeys { get; set; } = [];

    /// <summary>Folder of this member's keys (identity.key and wireguard.key, 0600) and its certificate (member.cert).</summary>
    public string KeysDirectory { get; set; } = "/var/lib/patronus/mesh";

    public List<RemoteCluster> RemoteClusters { get; set; } = [];

    /// <summary>The Node label that makes a node a gateway when its value is "true".</summary>
    public string GatewayLabel { get; set; } = "patronus.io/gateway";

    /// <summary>The gateway's WireGuard device (wireguard-go's UAPI sockets are per machine: one name per gateway on a machine).</summary>
    public string Interface { get; set; } = "wg-sdwan";

    public int ListenPort { get; set; } = 51820;

    /// <summary>
    /// Where the kernel has no WireGuard, wireguard-go is started outside the agent (the patronus-wireguard DaemonSet)
    /// and only adopted: a process the agent starts lives in the agent's container and ends with it at an upgrade.
    /// </summary>
    public bool ExternalWireGuardGo { get; set; }

    /// <summary>UDP port of the signed announcements.</summary>
    public int DiscoveryPort { get; set; } = 51821;

    /// <summary>
    /// UDP port a gateway answers liveness probes on, from its cluster's nodes and the remote gateways (announced, so
    /// remote gateways learn it); 0 runs no responder. Nodes probe their gateways on this port too.
    /// </summary>
    public int ProbePort { get; set; } = 51822;

    /// <summary>Announcements are also sent to and heard on this group (the seed's default); null for unicast only.</summary>
    public IPEndPoint? MulticastGroup { get; set; } = new(IPAddress.Parse("239.255.77.77"), 51821);

    /// <summary>What the gateway announces as its endpoints; empty takes the Node's addresses with <see cref="ListenPort"/>.</summary>
    public List<IPEndPoint> Endpoints { get; set; } = [];

    /// <summary>Names of the WAN paths the <see cref="Endpoints"/> are on (<c>NAME=ADDRESS:PORT</c>); an endpoint on a port of its own is a path of its own.</summary>
    public Dictionary<IPEndPoint, string> PathNames { get; set; } = [];

    /// <summary>How often the WireGuard key is replaced (the seed's 24 h); zero never.</summary>
    public TimeSpan KeyRotation { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the gateway announces itself.</summary>
    public TimeSpan AnnounceInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A site (a plain network, no Kubernetes) instead of a cluster: the member id, and the prefixes its certificate authorizes.</summary>
    public string? SiteName { get; set; }

    /// <summary>The mesh runs when this member knows who it is and whom to trust.</summary>
    public bool Enabled => (ClusterId ?? SiteName) is not null && SetKeys.Count > 0;

    public string? MemberId => SiteName ?? ClusterId;

    /// <summary>Every remote range: routed to a gateway from every node, and never masqueraded.</summary>
    public IEnumerable<IPNetwork> RemoteCidrs => RemoteClusters.SelectMany(r => r.Cidrs);
}
