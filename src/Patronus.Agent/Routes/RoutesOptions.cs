using System.Net;

namespace Patronus.Agent.Routes;

/// <summary>Settings of the routes feature: how pods reach other nodes and the outside, and the node's CNI configuration.</summary>
public sealed class RoutesOptions
{
    /// <summary>Whether the agent programs routes between nodes, masquerade and the conflist at all. Off for agents whose nodes are routed by something else.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>auto</c> (direct routes on a shared subnet, VXLAN beyond it), <c>direct</c> or <c>vxlan</c>.</summary>
    public RoutingMode Mode { get; set; } = RoutingMode.Auto;

    /// <summary>The conflist template (the ConfigMap's <c>10-patronus.conflist</c>); null writes no conflist.</summary>
    public string? CniConfTemplate { get; set; }

    /// <summary>Where the node's conflist is written, once the agent is ready.</summary>
    public string CniConfPath { get; set; } = "/etc/cni/net.d/10-patronus.conflist";

    /// <summary>The cluster's pod range (patronus-config <c>cluster-cidr</c>); traffic to it is never masqueraded.</summary>
    public List<IPNetwork> ClusterCidrs { get; set; } = [];

    /// <summary>The service range (patronus-config <c>service-cidr</c>); never masqueraded.</summary>
    public List<IPNetwork> ServiceCidrs { get; set; } = [];

    /// <summary>More destinations that keep the pod's source address (remote clusters' ranges join these).</summary>
    public List<IPNetwork> NonMasqueradeCidrs { get; set; } = [];

    /// <summary>Other clusters' ranges (the mesh's remote-clusters): every node but a gateway routes them to a gateway node.</summary>
    public List<IPNetwork> RemoteCidrs { get; set; } = [];

    /// <summary>The Node label that marks mesh gateways; null when there is no mesh.</summary>
    public string? GatewayLabel { get; set; }

    /// <summary>
    /// The port this cluster's gateways answer liveness probes on (the mesh's probe port): a node probes each gateway
    /// at its address and routes remote ranges to the first live one. 0 probes nothing (the first gateway by name).
    /// </summary>
    public int GatewayProbePort { get; set; }

    /// <summary>Whether pod traffic leaving the cluster set takes the node's address.</summary>
    public bool Masquerade { get; set; } = true;

    /// <summary>How often the kernel is checked against the plan even without a Node change (someone deleted a route).</summary>
    public TimeSpan Resync { get; set; } = TimeSpan.FromSeconds(30);
}
