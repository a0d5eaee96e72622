using System.Net.Sockets;
using Patronus.Cli.Lab.Plan;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Fabric;

/// <summary>
/// INTERIM, to be deleted: routes to other nodes' pod ranges, programmed by the lab because the agents do not
/// route yet. The agent's routes feature (issue 8: Node spec.podCIDRs and status.addresses → direct routes to
/// on-link nodes, VXLAN to the others) replaces this class; when it lands, delete this file and its one call in
/// <see cref="Lab.Running.LabBuilder"/>, and the lab then only wires uplinks, as the lab contract says.
/// Meanwhile: a direct route per on-link node of the same cluster, and in the router a route per node's pod
/// range, so nodes on other subnets are reached through it (where VXLAN will be needed). A side effect the real
/// feature will not have: the router knows pod ranges, so the internet host can answer pod addresses.
/// </summary>
internal static class InterimNodeRoutes
{
    public static void Program(LabPlan plan)
    {
        foreach (var cluster in plan.Clusters)
            foreach (var node in cluster.Nodes)
            {
                using var ns = NetNs.OpenNamed(node.Netns);
                using var netlink = RtNetlink.OpenIn(ns);
                var uplink = netlink.LinkByName(LabNames.Uplink)!.Index;
                foreach (var other in cluster.Nodes.Where(o => o != node && o.SubnetIndex == node.SubnetIndex))
                    foreach (var range in other.PodCIDRs)
                        netlink.RouteReplace(new Route
                        {
                            Destination = new IpPrefix(range.BaseAddress, range.PrefixLength),
                            Gateway = range.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? other.Address : other.AddressV6,
                            LinkIndex = uplink,
                        });
            }

        using var router = NetNs.OpenNamed(LabNames.Router(plan.Name));
        using var routes = RtNetlink.OpenIn(router);
        foreach (var node in plan.Nodes)
        {
            var leg = routes.LinkByName(LabNames.RouterLeg(node.SubnetIndex))!.Index;
            foreach (var range in node.PodCIDRs)
                routes.RouteReplace(new Route
                {
                    Destination = new IpPrefix(range.BaseAddress, range.PrefixLength),
                    Gateway = range.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? node.Address : node.AddressV6,
                    LinkIndex = leg,
                });
        }
    }
}
