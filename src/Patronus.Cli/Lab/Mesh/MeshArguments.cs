using System.Text.Json.Nodes;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Lab.Mesh;

/// <summary>
/// The agent options that join a lab's clusters into one mesh (the agent's mesh contract): which cluster the node is
/// in, the cluster set's public key, the remote clusters reachable over the cluster's WAN links, its key folder and its
/// WireGuard interface; on a gateway also the addresses it listens on (its legs on the links). Pure: the plan in, the arguments out.
/// </summary>
public static class MeshArguments
{
    /// <summary>The ClusterSetIP range of every lab (lab.yaml's ranges must stay clear of it; the agents refuse an overlap).</summary>
    public const string ClusterSetIpRange = "10.112.0.0/16";

    public const int DnsPort = 53;

    /// <summary>Where a cluster's pods ask for clusterset.local names: its first gateway (else first node), on <see cref="DnsPort"/>.</summary>
    public static System.Net.IPAddress DnsAddress(ClusterPlan cluster) => (cluster.Nodes.FirstOrDefault(n => n.Gateway) ?? cluster.Nodes[0]).Address;

    /// <summary>The options for <paramref name="node"/>; <paramref name="keysDirectory"/> is its key folder.</summary>
    public static IReadOnlyList<string> For(LabPlan plan, ClusterPlan cluster, NodePlan node, string clusterSetPublicKey, string keysDirectory)
    {
        List<string> arguments =
        [
            "--cluster-id", cluster.Id,
            "--cluster-set-key", clusterSetPublicKey,
            "--remote-clusters", RemoteClusters(plan, cluster).ToJsonString(),
        ];
        // Every node gets a key folder and a WireGuard interface name of its own, not only the gateways: a Node made a
        // gateway later (`lab apply` of its label) must not fall back to the agent's machine-wide defaults
        // (/var/lib/patronus/mesh, wg-sdwan), which every lab on the machine would share. The lab makes keys and a
        // certificate only for the gateways it starts with.
        arguments.AddRange(["--mesh-keys", keysDirectory, "--mesh-interface", LabNames.MeshInterface(plan.Name, cluster.Id, node.Name)]);
        // Multi-cluster services: the cluster's preference for its own endpoints where lab.yaml asks for it, ClusterSetIPs
        // from the lab's range, and clusterset.local answered on every node's address.
        if (cluster.ClusterSetPreferLocal)
            arguments.AddRange(["--clusterset-prefer-local", "true"]);
        arguments.AddRange(["--clusterset-ip-range", ClusterSetIpRange, "--clusterset-dns", $"{node.Address}:{DnsPort}"]);
        // Each leg is a path named after its link (the path_id of metrics and `patronus paths`), on a port of its own.
        var legs = plan.LinksOf(node).ToList();
        var endpoints = legs.Select(l => $"{l.Link.Id}={l.Leg.Address}:{plan.MeshPortOf(l.Leg)}").ToList();
        if (endpoints.Count > 0)
            arguments.AddRange(["--mesh-endpoints", string.Join(',', endpoints)]);
        var capacities = legs.Where(l => l.Link.Initial.Rate is not null)
            .Select(l => $"{l.Link.Id}={l.Link.Initial.Rate!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}").ToList();
        if (capacities.Count > 0)
            arguments.AddRange(["--path-capacities", string.Join(',', capacities)]);
        return arguments;
    }

    /// <summary>
    /// The clusters joined to <paramref name="cluster"/> by a WAN link, each once (its first link decides): its id, the
    /// address of its first gateway on that link, and its pod (IPv4, IPv6) and service ranges, as the agent's --remote-clusters reads them.
    /// </summary>
    public static JsonArray RemoteClusters(LabPlan plan, ClusterPlan cluster)
    {
        var remotes = new JsonArray();
        var seen = new HashSet<string>();
        foreach (var link in plan.WanLinks.Where(l => l.Between.Contains(cluster.Id)))
        {
            var remote = link.Between.First(c => c != cluster.Id);
            if (!seen.Add(remote))
                continue;
            var other = plan.Cluster(remote)!;
            var gateway = link.Gateways.First(g => g.Cluster == remote);
            remotes.Add(new JsonObject
            {
                ["id"] = remote,
                ["endpoint"] = $"{gateway.Address}:{plan.MeshPortOf(gateway)}",
                ["cidr"] = string.Join(',', AuthorizedPrefixes(other)),
            });
        }
        return remotes;
    }

    /// <summary>
    /// What a cluster may announce: every range its agents are given (--cluster-cidr, both families, and --service-cidr),
    /// since a gateway announces them all and refuses to run with a certificate that leaves one out.
    /// </summary>
    public static IReadOnlyList<System.Net.IPNetwork> AuthorizedPrefixes(ClusterPlan cluster) =>
        [cluster.PodCIDR, cluster.PodCIDRv6, cluster.ServiceCIDR];
}
