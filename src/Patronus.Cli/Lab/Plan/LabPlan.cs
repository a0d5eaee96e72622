using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Serialization;
using Patronus.Cli.Lab.Config;

namespace Patronus.Cli.Lab.Plan;

/// <summary>A segment of the fabric: one bridge; the router's leg on it is every node's default gateway.</summary>
public sealed record SubnetPlan(string Name, int Index, IPNetwork V4, IPNetwork V6, IPAddress RouterV4, IPAddress RouterV6);

/// <summary>The "internet": a host outside every cluster behind the router, for egress and masquerade checks.</summary>
public sealed record InternetPlan(string Netns, IPNetwork V4, IPNetwork V6, IPAddress Address, IPAddress AddressV6, IPAddress RouterV4, IPAddress RouterV6);

/// <summary>Where a node's agent keeps its files; every path is inside the lab's state directory.</summary>
public sealed record NodePaths(string Directory, string Socket, string Database, string Spool, string Ipam, string ConflistDirectory, string Log, string PidFile)
{
    public const string ConflistName = "10-patronus.conflist";

    [JsonIgnore]
    public string Conflist => Path.Combine(ConflistDirectory, ConflistName);

    /// <summary>What the ConfigMap's conflist would be on a real cluster: the agent fills in the node's ranges and MTU and writes <see cref="Conflist"/>.</summary>
    [JsonIgnore]
    public string ConflistTemplate => Path.Combine(Directory, "conflist-template.json");

    /// <summary>Where an eBPF agent pins its maps and programs (a bpffs of the node's own, which outlives the agent).</summary>
    [JsonIgnore]
    public string Bpffs => Path.Combine(Directory, "bpffs");

    public static NodePaths Under(string directory) => new(
        directory,
        Path.Combine(directory, "agent.sock"),
        Path.Combine(directory, "agent.db"),
        Path.Combine(directory, "pending"),
        Path.Combine(directory, "ipam"),
        Path.Combine(directory, "net.d"),
        Path.Combine(directory, "agent.log"),
        Path.Combine(directory, "agent.pid"));
}

/// <param name="Index">The node's position in the whole lab, which names its port on the fabric.</param>
/// <param name="PodCIDRs">IPv4 first, then IPv6: what the Node's spec.podCIDRs says.</param>
/// <param name="Address">The uplink's IPv4 address (the Node's first InternalIP); <c>lab apply</c> of a readdressed Node changes it.</param>
/// <param name="Datapath">The agent's --datapath: nftables or ebpf.</param>
public sealed record NodePlan(
    string Cluster,
    string Name,
    int Index,
    string Subnet,
    int SubnetIndex,
    string Netns,
    IPAddress Address,
    IPAddress AddressV6,
    IReadOnlyList<IPNetwork> PodCIDRs,
    bool Gateway,
    NodePaths Paths,
    string Datapath = LabConfig.DefaultDatapath)
{
    public const int MetricsPort = 9402;

    /// <summary>The agent's /metrics, served on the node's uplink address: reachable from the node and from across the fabric.</summary>
    [JsonIgnore]
    public string Metrics => $"http://{Address}:{MetricsPort}/metrics";

    [JsonIgnore]
    public IPEndPoint MetricsEndpoint => new(Address, MetricsPort);
}

public sealed record ClusterPlan(
    string Id,
    IPNetwork PodCIDR,
    IPNetwork PodCIDRv6,
    IPNetwork ServiceCIDR,
    string Directory,
    IReadOnlyList<NodePlan> Nodes,
    IReadOnlyList<string> Manifests,
    bool ClusterSetPreferLocal = false)
{
    /// <summary>The cluster state the agents watch (their --manifests folder).</summary>
    [JsonIgnore]
    public string ManifestsDirectory => Path.Combine(Directory, "manifests");

    public NodePlan? Node(string name) => Nodes.FirstOrDefault(n => n.Name == name);
}

/// <summary>A gateway's leg on a WAN link: its interface in the node, its port on the link's side, its address on the link.</summary>
/// <param name="Side">0: the first cluster of the link's <c>between</c>, 1: the second.</param>
public sealed record WanAttachment(string Cluster, string Node, int NodeIndex, int Side, IPAddress Address, string Interface, string Port);

/// <summary>
/// A WAN link: a namespace of its own with one L2 segment per side (the gateways of each cluster on theirs) and a
/// relay between the two; its subnet is 198.18.N.0/24 (RFC 2544's benchmarking range) for the N-th link.
/// </summary>
public sealed record WanLinkPlan(string Id, int Index, IReadOnlyList<string> Between, string Netns, IPNetwork Subnet,
    IReadOnlyList<WanAttachment> Gateways, Wan.WanLinkSettings Initial, string Directory)
{
    /// <summary>The port gateways' WireGuard listens on, on every link address.</summary>
    public const int MeshPort = 51820;

    [JsonIgnore]
    public string SettingsFile => Path.Combine(Directory, "settings.json");

    /// <summary>Where the relay reports the settings generation it has applied.</summary>
    [JsonIgnore]
    public string AppliedFile => Path.Combine(Directory, "applied");

    [JsonIgnore]
    public string Log => Path.Combine(Directory, "relay.log");

    [JsonIgnore]
    public string PidFile => Path.Combine(Directory, "relay.pid");

    public IEnumerable<WanAttachment> Side(int side) => Gateways.Where(g => g.Side == side);
}

/// <summary>
/// Where everything of a lab goes: the fabric's subnets and their addresses, every node's uplink address and pod
/// ranges (what kube-controller-manager would give it), the internet host, and every file path. Pure: no I/O, so
/// every rule is tested directly. All problems are reported together, each naming the LAB.yaml field.
/// </summary>
public sealed record LabPlan(string Name, string Directory, IReadOnlyList<SubnetPlan> Subnets, IReadOnlyList<ClusterPlan> Clusters, InternetPlan Internet,
    IReadOnlyList<WanLinkPlan>? Wan = null)
{
    /// <summary>WAN links' subnets: 198.18.N.0/24 for the N-th link (RFC 2544's range, outside every cluster and the fabric).</summary>
    public static readonly IPNetwork WanRange = IPNetwork.Parse("198.18.0.0/16");

    [JsonIgnore]
    public IReadOnlyList<WanLinkPlan> WanLinks => Wan ?? [];

    /// <summary>The links a node is on (a gateway's), with its leg on each.</summary>
    public IEnumerable<(WanLinkPlan Link, WanAttachment Leg)> LinksOf(NodePlan node) =>
        WanLinks.SelectMany(l => l.Gateways.Where(g => g.Cluster == node.Cluster && g.Node == node.Name).Select(g => (l, g)));

    /// <summary>
    /// The WireGuard port a gateway listens on for a leg: <see cref="WanLinkPlan.MeshPort"/> plus 10 for each leg before
    /// it on the same gateway. Each leg is a WAN path of its own, and the agent runs one device per port (steps of 10
    /// stay clear of the discovery, probe and services ports just above the first).
    /// </summary>
    public int MeshPortOf(WanAttachment leg)
    {
        var index = WanLinks.SelectMany(l => l.Gateways).Where(g => g.Cluster == leg.Cluster && g.Node == leg.Node).ToList().IndexOf(leg);
        return WanLinkPlan.MeshPort + (10 * Math.Max(0, index));
    }

    /// <summary>The fabric's subnets: 172.30.N.0/24 and fd7a:11ab:0:N::/64 for the N-th subnet (router .1 / ::1, nodes from .10 / ::a).</summary>
    public static readonly IPNetwork UnderlayV4 = IPNetwork.Parse("172.30.0.0/16");
    public static readonly IPNetwork UnderlayV6 = IPNetwork.Parse("fd7a:11ab::/48");

    /// <summary>The link between the router and the internet host: documentation ranges (RFC 5737, RFC 3849), outside every cluster.</summary>
    public static readonly IPNetwork InternetV4 = IPNetwork.Parse("203.0.113.0/24");
    public static readonly IPNetwork InternetV6 = IPNetwork.Parse("2001:db8::/64");

    /// <summary>The longest a unix socket path may be (sun_path is 108 bytes with its terminating NUL).</summary>
    public const int MaxSocketPath = 107;

    private const int FirstNodeHost = 10;

    public ClusterPlan? Cluster(string id) => Clusters.FirstOrDefault(c => c.Id == id);

    /// <summary>The same lab with one node replaced (a readdressed node).</summary>
    public LabPlan WithNode(NodePlan node) => this with
    {
        Clusters = Clusters.Select(c => c.Id != node.Cluster ? c : c with { Nodes = c.Nodes.Select(n => n.Name == node.Name ? node : n).ToList() }).ToList(),
    };

    [JsonIgnore]
    public IEnumerable<NodePlan> Nodes => Clusters.SelectMany(c => c.Nodes);

    /// <param name="datapath">Every agent's datapath (<c>lab up --datapath</c>), over what LAB.yaml says; null keeps LAB.yaml's.</param>
    /// <exception cref="LabConfigException">The clusters do not fit together; the message lists every problem.</exception>
    public static LabPlan Create(LabConfig config, string name, string directory, string? datapath = null)
    {
        var errors = new List<string>();
        var subnetNames = config.Clusters.SelectMany(c => c.Nodes).Select(n => n.Subnet).Distinct().ToList();
        if (subnetNames.Count > 255)
            errors.Add($"clusters: {subnetNames.Count} subnets; a lab has at most 255");
        var subnets = subnetNames.Take(255).Select((s, i) => new SubnetPlan(
            s, i,
            Cidr.Subnet(UnderlayV4, 24, (UInt128)i)!.Value,
            Cidr.Subnet(UnderlayV6, 64, (UInt128)i)!.Value,
            Cidr.Host(Cidr.Subnet(UnderlayV4, 24, (UInt128)i)!.Value, 1),
            Cidr.Host(Cidr.Subnet(UnderlayV6, 64, (UInt128)i)!.Value, 1))).ToList();

        CheckClusterRanges(config, errors);

        var onSubnet = new Dictionary<string, int>();
        var nodeIndex = 0;
        var clusters = new List<ClusterPlan>();
        for (var c = 0; c < config.Clusters.Count; c++)
        {
            var cluster = config.Clusters[c];
            var v6 = cluster.PodCIDRv6 ?? Cidr.DerivedV6(cluster.PodCIDR);
            var ranges = NodeRanges(cluster, v6, $"clusters[{c}]", errors);
            var clusterDirectory = Path.Combine(directory, cluster.Id);
            var nodes = new List<NodePlan>();
            for (var n = 0; n < cluster.Nodes.Count; n++)
            {
                var node = cluster.Nodes[n];
                var subnet = subnets.FirstOrDefault(s => s.Name == node.Subnet);
                if (subnet is null)
                    continue;
                var host = onSubnet.GetValueOrDefault(node.Subnet);
                onSubnet[node.Subnet] = host + 1;
                if (host + FirstNodeHost > 250)
                {
                    errors.Add($"clusters[{c}].nodes[{n}].subnet: more than {250 - FirstNodeHost} nodes on subnet {node.Subnet}");
                    continue;
                }
                var paths = NodePaths.Under(Path.Combine(clusterDirectory, node.Name));
                if (Encoding.UTF8.GetByteCount(paths.Socket) > MaxSocketPath)
                    errors.Add($"clusters[{c}].nodes[{n}].name: the agent's socket {paths.Socket} is longer than {MaxSocketPath} bytes; use shorter names or a shorter state directory (PATRONUS_LAB_DIR)");
                nodes.Add(new NodePlan(
                    cluster.Id, node.Name, nodeIndex++, node.Subnet, subnet.Index,
                    LabNames.Node(name, cluster.Id, node.Name),
                    Cidr.Host(subnet.V4, (UInt128)(FirstNodeHost + host)),
                    Cidr.Host(subnet.V6, (UInt128)(FirstNodeHost + host)),
                    ranges.Count > n ? ranges[n] : [],
                    node.Gateway,
                    paths,
                    datapath ?? node.Datapath ?? config.Datapath ?? LabConfig.DefaultDatapath));
            }
            clusters.Add(new ClusterPlan(cluster.Id, cluster.PodCIDR, v6, cluster.ServiceCIDR, clusterDirectory, nodes, cluster.Manifests, cluster.ClusterSetPreferLocal));
        }

        if (errors.Count > 0)
            throw new LabConfigException(string.Join('\n', errors.Distinct().Select(e => $"{config.Source}: {e}")));
        var internet = new InternetPlan(
            LabNames.Internet(name), InternetV4, InternetV6,
            Cidr.Host(InternetV4, 100), Cidr.Host(InternetV6, 0x100),
            Cidr.Host(InternetV4, 1), Cidr.Host(InternetV6, 1));
        var wan = WanPlans(config, name, directory, clusters, errors);
        if (errors.Count > 0)
            throw new LabConfigException(string.Join('\n', errors.Distinct().Select(e => $"{config.Source}: {e}")));
        return new LabPlan(name, directory, subnets, clusters, internet, wan);
    }

    private static List<WanLinkPlan> WanPlans(LabConfig config, string name, string directory, List<ClusterPlan> clusters, List<string> errors)
    {
        var links = new List<WanLinkPlan>();
        if (config.WanLinks.Count > 256)
            errors.Add($"wan: {config.WanLinks.Count} links; a lab has at most 256");
        for (var l = 0; l < Math.Min(config.WanLinks.Count, 256); l++)
        {
            var link = config.WanLinks[l];
            var subnet = Cidr.Subnet(WanRange, 24, (UInt128)l)!.Value;
            var gateways = new List<WanAttachment>();
            for (var side = 0; side < 2; side++)
                foreach (var node in clusters.First(c => c.Id == link.Between[side]).Nodes.Where(n => n.Gateway))
                    gateways.Add(new WanAttachment(node.Cluster, node.Name, node.Index, side, Cidr.Host(subnet, (UInt128)(gateways.Count + 1)),
                        LabNames.WanNodeInterface(l), LabNames.WanGatewayPort(node.Index)));
            if (gateways.Count > 250)
                errors.Add($"wan[{l}]: {gateways.Count} gateways; a link has at most 250");
            links.Add(new WanLinkPlan(link.Id, l, link.Between, LabNames.WanLink(name, link.Id), subnet, gateways,
                new Wan.WanLinkSettings(link.Delay, link.Jitter, link.LossPercent, link.RateMbit),
                Path.Combine(directory, "wan", link.Id)));
        }
        return links;
    }

    /// <summary>Every cluster's pod and service ranges are disjoint from each other's and from the lab's own (the mesh refuses overlapping ranges).</summary>
    private static void CheckClusterRanges(LabConfig config, List<string> errors)
    {
        var taken = new List<(string Field, IPNetwork Network)>
        {
            ("the lab's fabric", UnderlayV4), ("the lab's fabric", UnderlayV6),
            ("the lab's internet", InternetV4), ("the lab's internet", InternetV6),
            ("the lab's wan links", WanRange),
        };
        for (var c = 0; c < config.Clusters.Count; c++)
        {
            var cluster = config.Clusters[c];
            var own = new List<(string, IPNetwork)>
            {
                ($"clusters[{c}].podCIDR", cluster.PodCIDR),
                ($"clusters[{c}].podCIDRv6", cluster.PodCIDRv6 ?? Cidr.DerivedV6(cluster.PodCIDR)),
                ($"clusters[{c}].serviceCIDR", cluster.ServiceCIDR),
            };
            foreach (var (field, network) in own)
            {
                var clash = taken.FirstOrDefault(t => Cidr.Overlaps(t.Network, network));
                if (clash.Field is not null)
                {
                    var defaulted = field.EndsWith("podCIDRv6") && cluster.PodCIDRv6 is null ? " (derived from podCIDR)" : "";
                    errors.Add($"{field}: {network}{defaulted} overlaps {clash.Field} ({clash.Network}); give each range its own addresses");
                }
                taken.Add((field, network));
            }
        }
    }

    /// <summary>
    /// Each node's pod ranges: its own when LAB.yaml names them (checked to lie inside the cluster's ranges and to
    /// overlap no other node's), otherwise the lowest free /24 (IPv4) and /64 (IPv6) of the cluster's ranges.
    /// </summary>
    private static List<IReadOnlyList<IPNetwork>> NodeRanges(ClusterConfig cluster, IPNetwork v6, string path, List<string> errors)
    {
        var taken = new List<(int Node, IPNetwork Network)>();
        for (var n = 0; n < cluster.Nodes.Count; n++)
            for (var r = 0; r < cluster.Nodes[n].PodCIDRs.Count; r++)
            {
                var range = cluster.Nodes[n].PodCIDRs[r];
                var field = $"{path}.nodes[{n}].podCIDRs[{r}]";
                var within = range.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? cluster.PodCIDR : v6;
                if (!within.Contains(range.BaseAddress) || range.PrefixLength < within.PrefixLength)
                    errors.Add($"{field}: {range} is not inside the cluster's pod range {within}");
                var bits = Cidr.Bits(range);
                if (range.PrefixLength > bits - 2)
                    errors.Add($"{field}: {range} is too small for pods (at most /{bits - 2})");
                foreach (var clash in taken.Where(t => Cidr.Overlaps(t.Network, range)).Take(1))
                    errors.Add($"{field}: {range} overlaps the pod range {clash.Network} of {path}.nodes[{clash.Node}]");
                taken.Add((n, range));
            }

        var result = new List<IReadOnlyList<IPNetwork>>();
        for (var n = 0; n < cluster.Nodes.Count; n++)
        {
            var own = cluster.Nodes[n].PodCIDRs;
            var v4Range = Own(own, AddressFamily.InterNetwork) ?? Free(cluster.PodCIDR, 24, taken, n, $"{path}.podCIDR", errors);
            var v6Range = Own(own, AddressFamily.InterNetworkV6) ?? Free(v6, 64, taken, n, $"{path}.podCIDRv6", errors);
            result.Add([v4Range, v6Range]);
        }
        return result;
    }

    private static IPNetwork? Own(IReadOnlyList<IPNetwork> ranges, AddressFamily family) =>
        ranges.Where(r => r.BaseAddress.AddressFamily == family).Select(r => (IPNetwork?)r).FirstOrDefault();

    private static IPNetwork Free(IPNetwork within, int prefix, List<(int Node, IPNetwork Network)> taken, int node, string field, List<string> errors)
    {
        // A node is rarely given its own range, so a linear walk over the first few candidates is plenty.
        for (UInt128 i = 0; ; i++)
        {
            if (Cidr.Subnet(within, prefix, i) is not { } candidate)
            {
                errors.Add($"{field}: {within} has no free /{prefix} left for another node");
                return within;
            }
            if (taken.Any(t => Cidr.Overlaps(t.Network, candidate)))
                continue;
            taken.Add((node, candidate));
            return candidate;
        }
    }
}
