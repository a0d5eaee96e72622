using System.Net;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.State;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Fabric;

/// <summary>
/// The network the nodes' uplinks plug into, all in the lab's own namespaces and never joined to the machine's:
/// a fabric namespace with one bridge per subnet (nodes on one subnet share that L2 segment), a router namespace
/// with a leg on every subnet (each node's default gateway; nodes on different subnets reach each other only
/// through it) and a leg to the "internet", a host outside every cluster.
/// </summary>
internal static class LabFabric
{
    public static void Build(LabJournal journal)
    {
        var plan = journal.Record.Plan;
        using var fabric = journal.CreateNamespace(LabNames.Fabric(plan.Name));
        using var router = journal.CreateNamespace(LabNames.Router(plan.Name));
        using var internet = journal.CreateNamespace(plan.Internet.Netns);
        foreach (var ns in new[] { fabric, router, internet })
            LoopbackUp(ns);
        router.Run(() =>
        {
            Sysctl.Write("net/ipv4/ip_forward", "1");
            Sysctl.Write("net/ipv6/conf/all/forwarding", "1");
        });

        using (var netlink = RtNetlink.OpenIn(fabric))
        {
            foreach (var subnet in plan.Subnets)
            {
                netlink.LinkAddBridge(LabNames.SubnetBridge(subnet.Index));
                var bridge = netlink.LinkByName(LabNames.SubnetBridge(subnet.Index))!;
                netlink.LinkSetUp(bridge.Index);
                netlink.LinkAddVeth(LabNames.FabricRouterPort(subnet.Index), LabNames.RouterLeg(subnet.Index), peerNamespace: router, masterIndex: bridge.Index, up: true);
            }
        }
        using (var netlink = RtNetlink.OpenIn(router))
        {
            foreach (var subnet in plan.Subnets)
                Configure(netlink, LabNames.RouterLeg(subnet.Index), [new(subnet.RouterV4, subnet.V4.PrefixLength), new(subnet.RouterV6, subnet.V6.PrefixLength)]);
            netlink.LinkAddVeth(LabNames.RouterToInternet, LabNames.Uplink, peerNamespace: internet);
            Configure(netlink, LabNames.RouterToInternet, [new(plan.Internet.RouterV4, plan.Internet.V4.PrefixLength), new(plan.Internet.RouterV6, plan.Internet.V6.PrefixLength)]);
        }
        using (var netlink = RtNetlink.OpenIn(internet))
        {
            var uplink = Configure(netlink, LabNames.Uplink, [new(plan.Internet.Address, plan.Internet.V4.PrefixLength), new(plan.Internet.AddressV6, plan.Internet.V6.PrefixLength)]);
            DefaultRoutes(netlink, uplink, plan.Internet.RouterV4, plan.Internet.RouterV6);
        }
    }

    /// <summary>A node: its namespace, forwarding on (it routes for its pods), and its uplink on its subnet's bridge.</summary>
    public static void AddNode(LabJournal journal, NodePlan node)
    {
        var plan = journal.Record.Plan;
        var subnet = plan.Subnets[node.SubnetIndex];
        using var ns = journal.CreateNamespace(node.Netns);
        LoopbackUp(ns);
        ns.Run(() =>
        {
            Sysctl.Write("net/ipv4/ip_forward", "1");
            Sysctl.Write("net/ipv6/conf/all/forwarding", "1");
        });
        using (var fabric = NetNs.OpenNamed(LabNames.Fabric(plan.Name)))
        using (var netlink = RtNetlink.OpenIn(fabric))
        {
            var bridge = netlink.LinkByName(LabNames.SubnetBridge(subnet.Index))!;
            netlink.LinkAddVeth(LabNames.FabricNodePort(node.Index), LabNames.Uplink, peerNamespace: ns, masterIndex: bridge.Index, up: true);
        }
        using (var netlink = RtNetlink.OpenIn(ns))
        {
            var uplink = Configure(netlink, LabNames.Uplink, [new(node.Address, subnet.V4.PrefixLength), new(node.AddressV6, subnet.V6.PrefixLength)]);
            DefaultRoutes(netlink, uplink, subnet.RouterV4, subnet.RouterV6);
        }
    }

    private static void LoopbackUp(NetNs ns)
    {
        using var netlink = RtNetlink.OpenIn(ns);
        netlink.LinkSetUp(netlink.LinkByName("lo")!.Index);
    }

    /// <summary>Addresses without duplicate address detection: a fresh lab's IPv6 addresses are usable at once, not after DAD's second or two.</summary>
    private static int Configure(RtNetlink netlink, string name, IReadOnlyList<IpPrefix> addresses)
    {
        var link = netlink.LinkByName(name) ?? throw new LabException($"interface {name} was not created");
        foreach (var address in addresses)
            netlink.AddrAdd(link.Index, address, address.IsIPv4 ? AddressFlags.None : AddressFlags.NoDad);
        netlink.LinkSetUp(link.Index);
        return link.Index;
    }

    private static void DefaultRoutes(RtNetlink netlink, int link, IPAddress v4, IPAddress v6)
    {
        netlink.RouteReplace(new Route { Destination = IpPrefix.DefaultIPv4, Gateway = v4, LinkIndex = link });
        netlink.RouteReplace(new Route { Destination = IpPrefix.DefaultIPv6, Gateway = v6, LinkIndex = link });
    }
}
