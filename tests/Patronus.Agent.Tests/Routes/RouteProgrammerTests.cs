using System.Net;
using Patronus.Agent.Routes;
using Patronus.Netlink;
using Patronus.Testing;
using static Patronus.Testing.NetworkNamespace;

namespace Patronus.Agent.Tests.Routes;

/// <summary>
/// Three node namespaces, two on one subnet and one on another behind a router, each with one pod namespace:
/// the programmer's routes alone must carry pod traffic between them (direct on the shared subnet, VXLAN to the
/// other), and follow the nodes when they change.
/// </summary>
public sealed class RouteProgrammerTests : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly Dictionary<string, string> _nodeNs = [];
    private readonly Dictionary<string, string> _podNs = [];

    private static readonly (string Name, string Subnet, string Address, int Index)[] Nodes =
    [
        ("node-1", "s1", "192.168.1.1", 1),
        ("node-2", "s1", "192.168.1.2", 2),
        ("node-3", "s2", "192.168.2.3", 3),
    ];

    public RouteProgrammerTests()
    {
        var fabric = _namespaces.Add($"prt-{_id}-f");
        Ip(fabric, "link add br1 type bridge", "link set br1 up", "addr add 192.168.1.254/24 dev br1",
            "link add br2 type bridge", "link set br2 up", "addr add 192.168.2.254/24 dev br2");
        Sysctl(fabric, "net.ipv4.ip_forward=1");
        foreach (var (name, subnet, address, index) in Nodes)
        {
            var node = _nodeNs[name] = _namespaces.Add($"prt-{_id}-n{index}");
            var pod = _podNs[name] = _namespaces.Add($"prt-{_id}-p{index}");
            Ip(fabric, $"link add up{index} type veth peer name uplink0 netns {node}", $"link set up{index} master br{subnet[1]}", $"link set up{index} up");
            Ip(node, "link set lo up", "link set uplink0 up", $"addr add {address}/24 dev uplink0", $"route add default via 192.168.{subnet[1]}.254",
                $"link add pod0 type veth peer name eth0 netns {pod}", "link set pod0 up",
                $"addr add 10.244.{index}.1/24 dev pod0", $"addr add fd00:10:244:{index}::1/64 dev pod0 nodad");
            Sysctl(node, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
            Ip(pod, "link set lo up", "link set eth0 up", $"addr add 10.244.{index}.5/24 dev eth0", $"addr add fd00:10:244:{index}::5/64 dev eth0 nodad",
                $"route add default via 10.244.{index}.1", $"-6 route add default via fd00:10:244:{index}::1");
        }
    }

    public void Dispose() => _namespaces.Dispose();

    private static NodeAddressing Addressing(string name, string address, int index) =>
        new(name, [IPAddress.Parse(address)], [IPNetwork.Parse($"10.244.{index}.0/24"), IPNetwork.Parse($"fd00:10:244:{index}::/64")]);

    private int Program(string nodeName, RoutingMode mode, IEnumerable<NodeAddressing> cluster)
    {
        var all = cluster.ToList();
        var local = all.Single(n => n.Name == nodeName);
        using var ns = NetNs.OpenNamed(_nodeNs[nodeName]);
        using var netlink = RtNetlink.OpenIn(ns);
        var programmer = new RouteProgrammer(netlink);
        var uplink = programmer.FindUplink(local.Addresses[0]) ?? throw new InvalidOperationException("no uplink");
        var plan = RoutePlanner.Plan(mode, local, uplink.Subnets, all);
        Assert.Empty(plan.Problems);
        return programmer.Apply(plan, uplink);
    }

    private List<NodeAddressing> Cluster() => Nodes.Select(n => Addressing(n.Name, n.Address, n.Index)).ToList();

    private void ProgramAll(RoutingMode mode, List<NodeAddressing>? cluster = null)
    {
        cluster ??= Cluster();
        foreach (var node in cluster)
            Program(node.Name, mode, cluster);
    }

    private bool Ping(string from, string to, bool v6 = false)
    {
        var index = Nodes.Single(n => n.Name == to).Index;
        var target = v6 ? $"fd00:10:244:{index}::5" : $"10.244.{index}.5";
        return Command.Run("ip", ["netns", "exec", _podNs[from], "ping", v6 ? "-6" : "-4", "-c", "3", "-i", "0.2", "-W", "2", target]).ExitCode == 0;
    }

    [Fact]
    public void Auto_PodsReachPodsOnEveryNode_DirectOnTheSubnetAndOverVxlanBeyondIt()
    {
        ProgramAll(RoutingMode.Auto);

        foreach (var (from, _, _, _) in Nodes)
            foreach (var (to, _, _, _) in Nodes.Where(n => n.Name != from))
            {
                Assert.True(Ping(from, to), $"{from} → {to} over IPv4");
                Assert.True(Ping(from, to, v6: true), $"{from} → {to} over IPv6");
            }

        var node1Routes = Ip(_nodeNs["node-1"], "route show proto 77");
        Assert.Contains("10.244.2.0/24 via 192.168.1.2 dev uplink0", node1Routes);
        Assert.Contains("10.244.3.0/24 via 10.244.3.0 dev patronus-vxlan", node1Routes);
        Assert.Contains("onlink", node1Routes);
        var fdb = Command.Run("ip", ["netns", "exec", _nodeNs["node-1"], "bridge", "fdb", "show", "dev", RouteProgrammer.VxlanDevice]).Stdout;
        Assert.Contains("4e:50:c0:a8:02:03 dst 192.168.2.3", fdb);
        // Pod addresses are kept across nodes: the receiver sees the sender's pod address.
        Assert.DoesNotContain("masquerade", Command.Run("ip", ["netns", "exec", _nodeNs["node-3"], "nft", "list", "ruleset"]).Stdout);
    }

    [Fact]
    public void Vxlan_CarriesEvenTheOnLinkNodes()
    {
        ProgramAll(RoutingMode.Vxlan);

        Assert.True(Ping("node-1", "node-2"), Describe("node-1") + Describe("node-2"));
        Assert.True(Ping("node-1", "node-2", v6: true));
        Assert.Contains("10.244.2.0/24 via 10.244.2.0 dev patronus-vxlan", Ip(_nodeNs["node-1"], "route show proto 77"));
    }

    [Fact]
    public void ApplyingTheSamePlanAgain_ChangesNothing()
    {
        ProgramAll(RoutingMode.Auto);

        Assert.Equal(0, Program("node-1", RoutingMode.Auto, Cluster()));
    }

    [Fact]
    public void NodeRemoved_ItsRoutesAndOverlayEntriesGo()
    {
        ProgramAll(RoutingMode.Auto);
        var withoutNode3 = Cluster().Where(n => n.Name != "node-3").ToList();
        Program("node-1", RoutingMode.Auto, withoutNode3);

        var node1 = _nodeNs["node-1"];
        Assert.DoesNotContain("10.244.3.0", Ip(node1, "route show proto 77"));
        Assert.DoesNotContain("fd00:10:244:3::", Ip(node1, "-6 route show proto 77"));
        Assert.DoesNotContain("192.168.2.3", Command.Run("ip", ["netns", "exec", node1, "bridge", "fdb", "show", "dev", RouteProgrammer.VxlanDevice]).Stdout);
        Assert.DoesNotContain("4e:50:c0:a8:02:03", Ip(node1, "neigh show dev patronus-vxlan"));
        Assert.True(Ping("node-1", "node-2"));
    }

    [Fact]
    public void NodeReaddressed_EntriesFollow()
    {
        ProgramAll(RoutingMode.Auto);
        // Deleting a primary address takes its secondaries with it: the new one goes on after.
        Ip(_nodeNs["node-3"], "addr del 192.168.2.3/24 dev uplink0", "addr add 192.168.2.33/24 dev uplink0", "route replace default via 192.168.2.254");
        var moved = Cluster().Select(n => n.Name == "node-3" ? n with { Addresses = [IPAddress.Parse("192.168.2.33")] } : n).ToList();
        ProgramAll(RoutingMode.Auto, moved);

        Assert.True(Ping("node-1", "node-3"));
        Assert.True(Ping("node-3", "node-2", v6: true));
        var fdb = Command.Run("ip", ["netns", "exec", _nodeNs["node-1"], "bridge", "fdb", "show", "dev", RouteProgrammer.VxlanDevice]).Stdout;
        Assert.Contains("dst 192.168.2.33", fdb);
        Assert.DoesNotContain("dst 192.168.2.3 ", fdb);
    }

    [Fact]
    public void RemoveAll_LeavesNoRouteOrDevice()
    {
        ProgramAll(RoutingMode.Auto);
        using (var ns = NetNs.OpenNamed(_nodeNs["node-1"]))
        using (var netlink = RtNetlink.OpenIn(ns))
            new RouteProgrammer(netlink).RemoveAll();

        Assert.Equal("", Ip(_nodeNs["node-1"], "route show proto 77").Trim());
        Assert.Equal("", Ip(_nodeNs["node-1"], "-6 route show proto 77").Trim());
        Assert.DoesNotContain(RouteProgrammer.VxlanDevice, Ip(_nodeNs["node-1"], "link show"));
    }

    private string Describe(string node)
    {
        var ns = _nodeNs[node];
        return $"\n== {node}\n" + Ip(ns, "-d link show patronus-vxlan", "addr show patronus-vxlan", "route", "-6 route", "neigh show dev patronus-vxlan")
            + Command.Run("ip", ["netns", "exec", ns, "bridge", "fdb", "show", "dev", RouteProgrammer.VxlanDevice]).Stdout;
    }


    private static void Sysctl(string ns, params string[] settings)
    {
        foreach (var setting in settings)
            Command.Run("ip", ["netns", "exec", ns, "sysctl", "-qw", setting]);
    }
}
