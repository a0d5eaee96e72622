using System.Net;

namespace Patronus.Cli.Lab.Config;

/// <summary>
/// LAB.yaml as read and checked: the clusters to build, each with its ranges, nodes and manifests.
/// Every value here is valid on its own; how the values fit together (ranges that overlap, addresses
/// outside a range) is checked by <see cref="Plan.LabPlan"/>, which lays the lab out.
/// </summary>
/// <param name="Source">The file it was read from, for messages.</param>
/// <param name="Directory">The folder manifests paths are relative to.</param>
/// <param name="Datapath">The agents' datapath where a node does not name its own (null: <see cref="DefaultDatapath"/>).</param>
/// <param name="Wan">The WAN links between clusters (LAB.yaml's <c>wan</c>); empty when the lab has none.</param>
public sealed record LabConfig(string? Name, IReadOnlyList<ClusterConfig> Clusters, string Source, string Directory, string? Datapath = null, IReadOnlyList<WanLinkConfig>? Wan = null)
{
    public IReadOnlyList<WanLinkConfig> WanLinks => Wan ?? [];

    public const string DefaultDatapath = "nftables";

    /// <summary>What the lab's agents may enforce policy with (the agent's --datapath, less auto and none: a lab says what it measures).</summary>
    public static readonly string[] Datapaths = ["nftables", "ebpf"];
}

/// <param name="Id">The cluster's id: a DNS label, part of every namespace name of its nodes and pods.</param>
/// <param name="PodCIDRv6">The cluster's IPv6 pod range; null takes the default derived from <paramref name="PodCIDR"/>.</param>
/// <param name="Manifests">Files or folders of Pods, Namespaces, NetworkPolicies..., resolved against LAB.yaml's folder.</param>
/// <param name="ClusterSetPreferLocal">The agents' --clusterset-prefer-local: ClusterSetIP connections go to the cluster's own endpoints when it exports the service.</param>
public sealed record ClusterConfig(
    string Id,
    IPNetwork PodCIDR,
    IPNetwork? PodCIDRv6,
    IPNetwork ServiceCIDR,
    IReadOnlyList<NodeConfig> Nodes,
    IReadOnlyList<string> Manifests,
    bool ClusterSetPreferLocal = false)
{
    public const string DefaultPodCIDR = "10.244.0.0/16";
    public const string DefaultServiceCIDR = "10.96.0.0/16";
}

/// <param name="Subnet">The L2 segment of the node's uplink; nodes on the same one are on-link, others are routed.</param>
/// <param name="PodCIDRs">The node's own pod ranges (one per family at most); empty: the lab assigns them.</param>
/// <param name="Gateway">Marks the node as a gateway of its cluster (the <c>patronus.io/gateway</c> label on its Node).</param>
/// <param name="Datapath">This node's agent's datapath; null takes the lab's.</param>
public sealed record NodeConfig(string Name, string Subnet, IReadOnlyList<IPNetwork> PodCIDRs, bool Gateway, string? Datapath = null);
