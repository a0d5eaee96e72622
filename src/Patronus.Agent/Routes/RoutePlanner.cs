using System.Net;
using System.Net.Sockets;
using Patronus.Mesh.Identity;
using static Patronus.Netlink.NetworkRanges;

namespace Patronus.Agent.Routes;

/// <summary>How pod traffic crosses to other nodes.</summary>
public enum RoutingMode
{
    /// <summary>Direct routes to nodes on a shared subnet, the VXLAN overlay to the rest (the default).</summary>
    Auto,

    /// <summary>Direct routes only: every node must be on-link.</summary>
    Direct,

    /// <summary>The VXLAN overlay to every node.</summary>
    Vxlan,
}

/// <summary>A route to another node's pod range: straight to the node, or into the overlay.</summary>
public sealed record PodRoute(string Node, IPNetwork Destination, IPAddress Gateway, bool Overlay);

/// <summary>Another node reached over the overlay.</summary>
public sealed record OverlayPeer(string Node, VxlanEndpoint Endpoint);

/// <summary>Everything this node should hold to reach every other node's pods, and what could not be routed.</summary>
public sealed record RoutePlan(
    VxlanEndpoint? LocalEndpoint,
    IReadOnlyList<PodRoute> Routes,
    IReadOnlyList<OverlayPeer> Peers,
    IReadOnlyList<string> Problems)
{
    public static readonly RoutePlan Empty = new(null, [], [], []);
}

/// <summary>
/// Turns Node objects into the routes, overlay peers and neighbour entries this node needs. Pure: the routes
/// feature feeds it the cluster's Nodes and the uplink's subnets and programs the difference.
/// </summary>
public static class RoutePlanner
{
    /// <summary>
    /// Other nodes whose pod ranges overlap this node's, as messages; empty when none does. Any clash means two nodes
    /// would hand out the same addresses, so this node must not write its conflist: both stay not ready, which is
    /// safe, rather than either guessing which one the cluster meant.
    /// </summary>
    public static IReadOnlyList<string> LocalRangeClashes(NodeAddressing local, IEnumerable<NodeAddressing> nodes) =>
        nodes.Where(n => n.Name != local.Name)
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .SelectMany(n => n.PodCidrs.SelectMany(theirs => local.PodCidrs.Where(mine => Overlaps(mine, theirs))
                .Select(mine => $"pod range {mine} of Node {local.Name} overlaps {theirs} of Node {n.Name}: no conflist, two nodes would hand out the same addresses")))
            .ToArray();

    /// <param name="localSubnets">The subnets of the local uplink's addresses: a node with an address in one is on-link.</param>
    /// <param name="remoteCidrs">
    /// Other clusters' ranges (the mesh): routed like a gateway node's own pod range, to the first live gateway by
    /// name (the carrier: the one the remote clusters accept this cluster's traffic from and send it back through,
    /// since they pick the same way), or the first by name when none is known live. The carrier routes them into its
    /// tunnel itself; so does any gateway while it is the first live one. Another gateway (a standby) routes them to
    /// the carrier like any node: the remote clusters would refuse what its own tunnel sent (WireGuard accepts a
    /// source range from one peer only), so its pods could not reach them. Its tunnel's own routes stay, at a lower
    /// preference (<see cref="Mesh.Tunnel.WireGuardTunnel.RouteMetric"/>), and serve once it becomes the carrier.
    /// </param>
    /// <param name="isGatewayLive">Whether a gateway node (by name) answers its liveness probes; null takes every gateway as live.</param>
    public static RoutePlan Plan(RoutingMode mode, NodeAddressing local, IReadOnlyList<IPNetwork> localSubnets, IEnumerable<NodeAddressing> nodes, IReadOnlyList<IPNetwork>? remoteCidrs = null,
        Func<string, bool>? isGatewayLive = null)
    {
        var all = nodes.ToList();
        var plan = PlanNodes(mode, local, localSubnets, all);
        if (remoteCidrs is not { Count: > 0 })
            return plan;

        var routes = plan.Routes.ToList();
        var problems = plan.Problems.ToList();
        var taken = all.SelectMany(n => n.PodCidrs.Select(c => (Cidr: c, n.Name))).ToList();
        // In the order remote members choose a carrier: live first, then by gateway name. A gateway is live to itself.
        var gateways = all.Where(n => n.Gateway && (n.Name != local.Name || local.Gateway))
            .OrderBy(n => n.Name == local.Name || (isGatewayLive?.Invoke(n.Name) ?? true) ? 0 : 1)
            .ThenBy(n => MemberIds.FirstLabel(n.Name), StringComparer.Ordinal).ThenBy(n => n.Name, StringComparer.Ordinal).ToList();
        foreach (var cidr in remoteCidrs)
        {
            if (taken.FirstOrDefault(t => Overlaps(t.Cidr, cidr)) is { Name: not null } clash)
            {
                problems.Add($"remote range {cidr} overlaps pod range {clash.Cidr} of node {clash.Name}; not routed");
                continue;
            }
            var family = cidr.BaseAddress.AddressFamily;
            PodRoute? RouteTo(NodeAddressing gateway) => routes.FirstOrDefault(r => r.Node == gateway.Name && r.Destination.BaseAddress.AddressFamily == family);
            // A gateway that cannot be routed to (no address, no pod range of the family) is no use: the next one is taken.
            var carrier = gateways.FirstOrDefault(g => g.Name == local.Name || RouteTo(g) is not null);
            if (carrier?.Name == local.Name)
                continue; // this gateway carries them: its tunnel's routes serve
            if (carrier is null || RouteTo(carrier) is not { } via)
            {
                problems.Add(gateways.Count == 0
                    ? $"remote range {cidr}: no gateway node (a Node labelled as the mesh's gateway) to route it to"
                    : $"remote range {cidr}: no gateway node is reachable for {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")}");
                continue;
            }
            routes.Add(via with { Destination = cidr });
        }
        return plan with { Routes = routes, Problems = problems };
    }

    private static RoutePlan PlanNodes(RoutingMode mode, NodeAddressing local, IReadOnlyList<IPNetwork> localSubnets, IReadOnlyList<NodeAddressing> nodes)
    {
        var problems = new List<string>();
        var underlayFamily = local.Addresses.Count > 0 ? local.Addresses[0].AddressFamily : AddressFamily.InterNetwork;
        VxlanEndpoint? localEndpoint = null;
        if (mode != RoutingMode.Direct && local.Addresses.Count > 0)
            localEndpoint = VxlanEndpoint.For(local.Addresses[0], local.PodCidrOf(AddressFamily.InterNetwork));

        var taken = new List<(IPNetwork Cidr, string Node)>();
        taken.AddRange(local.PodCidrs.Select(c => (c, local.Name)));
        var routes = new List<PodRoute>();
        var peers = new List<OverlayPeer>();
        foreach (var node in nodes.Where(n => n.Name != local.Name).OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            VxlanEndpoint? endpoint = null;
            foreach (var cidr in node.PodCidrs)
            {
                if (taken.FirstOrDefault(t => Overlaps(t.Cidr, cidr)) is { Node: not null } clash)
                {
                    problems.Add($"Node {node.Name}: pod range {cidr} overlaps {clash.Cidr} of node {clash.Node}; not routed");
                    continue;
                }
                taken.Add((cidr, node.Name));

                var family = cidr.BaseAddress.AddressFamily;
                var direct = node.Addresses.FirstOrDefault(a => a.AddressFamily == family && localSubnets.Any(s => s.Contains(a)));
                if (mode != RoutingMode.Vxlan && direct is not null)
                {
                    routes.Add(new PodRoute(node.Name, cidr, direct, Overlay: false));
                    continue;
                }
                if (mode == RoutingMode.Direct)
                {
                    problems.Add($"Node {node.Name}: no address on a subnet of this node's uplink for pod range {cidr}; routing mode 'direct' cannot reach it (use 'auto' or 'vxlan')");
                    continue;
                }
                if (localEndpoint is null)
                {
                    problems.Add($"Node {node.Name}: this node has no underlay address, so the overlay cannot reach pod range {cidr}");
                    continue;
                }
                if (endpoint is null)
                {
                    if (node.AddressOf(underlayFamily) is not { } underlay)
                    {
                        problems.Add($"Node {node.Name}: no {(underlayFamily == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address in status.addresses to carry the overlay; pod range {cidr} not routed");
                        continue;
                    }
                    endpoint = VxlanEndpoint.For(underlay, node.PodCidrOf(AddressFamily.InterNetwork));
                    peers.Add(new OverlayPeer(node.Name, endpoint));
                }
                var gateway = family == AddressFamily.InterNetwork ? endpoint.AddressV4! : endpoint.LinkLocalV6;
                routes.Add(new PodRoute(node.Name, cidr, gateway, Overlay: true));
            }
        }
        return new RoutePlan(localEndpoint, routes, peers, problems);
    }
}
