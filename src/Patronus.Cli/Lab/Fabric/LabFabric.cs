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

    /// <summary>
    /// A readdressed node (<c>lab apply</c> of its Node with other InternalIPs): its uplink leaves the old addresses
    /// for the new ones on the same subnet, keeping its default routes. The old address goes first: with
    /// promote_secondaries off (a new namespace's default), removing a primary address removes its subnet's others.
    /// </summary>
    public static void Readdress(LabPlan plan, NodePlan node, IPAddress v4, IPAddress v6)
    {
        var subnet = plan.Subnets[node.SubnetIndex];
        using var ns = NetNs.OpenNamed(node.Netns);
        using var netlink = RtNetlink.OpenIn(ns);
        var uplink = netlink.LinkByName(LabNames.Uplink) ?? throw new LabException($"node {node.Cluster}/{node.Name} has no {LabNames.Uplink}");
        foreach (var (old, now, length) in new[] { (node.Address, v4, subnet.V4.PrefixLength), (node.AddressV6, v6, subnet.V6.PrefixLength) })
        {
            if (old.Equals(now))
                continue;
            netlink.AddrDel(uplink.Index, new IpPrefix(old, length));
            netlink.AddrAdd(uplink.Index, new IpPrefix(now, length), now.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? AddressFlags.None : AddressFlags.NoDad);
        }
        DefaultRoutes(netlink, uplink.Index, subnet.RouterV4, subnet.RouterV6);
    }

    /// <summary>Why <paramref name="address"/> cannot be the uplink address of <paramref name="node"/>, or null when it can.</summary>
    public static string? CheckAddress(LabPlan plan, NodePlan node, IPAddress address)
    {
        var subnet = plan.Subnets[node.SubnetIndex];
        var v4 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        var range = v4 ? subnet.V4 : subnet.V6;
        if (!range.Contains(address))
            return $"{address} is not on the node's subnet {subnet.Name} ({range}); a node keeps its subnet";
        var bits = v4 ? 32 : 128;
        if (address.Equals(range.BaseAddress) || (v4 && address.Equals(Cidr.Host(range, ((UInt128)1 << (bits - range.PrefixLength)) - 1))))
            return $"{address} is the subnet's network or broadcast address";
        if (address.Equals(v4 ? subnet.RouterV4 : subnet.RouterV6))
            return $"{address} is the router's address on subnet {subnet.Name}";
        if (plan.Nodes.FirstOrDefault(n => n != node && (n.Address.Equals(address) || n.AddressV6.Equals(address))) is { } other)
            return $"{address} is node {other.Cluster}/{other.Name}'s address";
        return null;
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
