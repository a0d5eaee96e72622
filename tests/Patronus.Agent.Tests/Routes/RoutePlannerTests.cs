using System.Net;
using k8s.Models;
using Patronus.Agent.Routes;

namespace Patronus.Agent.Tests.Routes;

public class RoutePlannerTests
{
    private static readonly IPNetwork[] Subnet1 = [IPNetwork.Parse("192.168.1.0/24"), IPNetwork.Parse("fd00:1::/64")];

    private static NodeAddressing Node(string name, string[] addresses, params string[] cidrs) =>
        new(name, addresses.Select(IPAddress.Parse).ToArray(), cidrs.Select(IPNetwork.Parse).ToArray());

    private static readonly NodeAddressing Local = Node("node-1", ["192.168.1.1", "fd00:1::1"], "10.244.0.0/24", "fd00:10:244::/64");
    private static readonly NodeAddressing SameSubnet = Node("node-2", ["192.168.1.2", "fd00:1::2"], "10.244.1.0/24", "fd00:10:244:1::/64");
    private static readonly NodeAddressing OtherSubnet = Node("node-3", ["192.168.2.3", "fd00:2::3"], "10.244.9.0/24", "fd00:10:244:9::/64");

    [Fact]
    public void Auto_OnLinkNode_GetsDirectRoutesViaItsAddress()
    {
        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, SameSubnet]);

        Assert.Equal(
            [
                new PodRoute("node-2", IPNetwork.Parse("10.244.1.0/24"), IPAddress.Parse("192.168.1.2"), false),
                new PodRoute("node-2", IPNetwork.Parse("fd00:10:244:1::/64"), IPAddress.Parse("fd00:1::2"), false),
            ],
            plan.Routes);
        Assert.Empty(plan.Peers);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void Auto_NodeOnAnotherSubnet_GoesThroughTheOverlay()
    {
        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, SameSubnet, OtherSubnet]);

        var peer = Assert.Single(plan.Peers);
        Assert.Equal("node-3", peer.Node);
        Assert.Equal(IPAddress.Parse("192.168.2.3"), peer.Endpoint.Underlay);
        Assert.Equal(IPAddress.Parse("10.244.9.0"), peer.Endpoint.AddressV4);
        var overlay = plan.Routes.Where(r => r.Overlay).ToList();
        Assert.Equal(
            [
                new PodRoute("node-3", IPNetwork.Parse("10.244.9.0/24"), IPAddress.Parse("10.244.9.0"), true),
                new PodRoute("node-3", IPNetwork.Parse("fd00:10:244:9::/64"), peer.Endpoint.LinkLocalV6, true),
            ],
            overlay);
        Assert.NotNull(plan.LocalEndpoint);
        Assert.Equal(IPAddress.Parse("10.244.0.0"), plan.LocalEndpoint!.AddressV4);
    }

    [Fact]
    public void Vxlan_EveryNodeGoesThroughTheOverlay()
    {
        var plan = RoutePlanner.Plan(RoutingMode.Vxlan, Local, Subnet1, [Local, SameSubnet, OtherSubnet]);

        Assert.All(plan.Routes, r => Assert.True(r.Overlay));
        Assert.Equal(["node-2", "node-3"], plan.Peers.Select(p => p.Node));
        Assert.Equal(4, plan.Routes.Count);
    }

    [Fact]
    public void Direct_NodeNotOnLink_IsReportedAndNotRouted()
    {
        var plan = RoutePlanner.Plan(RoutingMode.Direct, Local, Subnet1, [Local, SameSubnet, OtherSubnet]);

        Assert.Null(plan.LocalEndpoint);
        Assert.Empty(plan.Peers);
        Assert.Equal(["node-2", "node-2"], plan.Routes.Select(r => r.Node));
        Assert.Equal(2, plan.Problems.Count);
        Assert.All(plan.Problems, p => Assert.Contains("node-3", p));
    }

    [Fact]
    public void OverlappingPodRanges_AreRefusedWithoutStoppingTheOthers()
    {
        var clash = Node("node-0", ["192.168.1.9"], "10.244.1.0/25");
        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, SameSubnet, clash, Node("node-4", ["192.168.1.4"], "10.244.0.128/25")]);

        // node-0 sorts first, so node-2's range is the one that clashes; node-4's sits inside the local range.
        Assert.Equal(["node-0", "node-2"], plan.Routes.Select(r => r.Node));
        Assert.Equal(2, plan.Problems.Count);
        Assert.Contains(plan.Problems, p => p.Contains("node-2") && p.Contains("10.244.1.0/25"));
        Assert.Contains(plan.Problems, p => p.Contains("node-4") && p.Contains("node-1"));
    }

    [Theory]
    [InlineData("10.244.0.0/24", true)]
    [InlineData("10.244.0.128/25", true)]
    [InlineData("10.244.0.0/16", true)]
    [InlineData("fd00:10:244::/80", true)]
    [InlineData("10.244.1.0/24", false)]
    [InlineData("fd00:10:244:1::/64", false)]
    public void LocalRangeClashes_NamesEveryOtherNodeWhoseRangeOverlapsOurs(string theirs, bool clashes)
    {
        var other = Node("node-7", ["192.168.1.7"], theirs);

        var found = RoutePlanner.LocalRangeClashes(Local, [Local, SameSubnet, other]);

        if (clashes)
            Assert.Contains("Node node-7", Assert.Single(found));
        else
            Assert.Empty(found);
    }

    [Fact]
    public void NodeWithoutPodRanges_GetsNothingAndIsNotAProblem()
    {
        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, Node("node-5", ["192.168.2.5"])]);

        Assert.Empty(plan.Routes);
        Assert.Empty(plan.Peers);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void OverlayNodeWithoutAnAddressOfTheUnderlayFamily_IsReported()
    {
        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, Node("node-6", ["fd00:2::6"], "10.244.6.0/24")]);

        Assert.Empty(plan.Routes);
        Assert.Contains("IPv4", Assert.Single(plan.Problems));
    }

    [Fact]
    public void Plan_IsIndependentOfTheOrderNodesArriveIn()
    {
        var nodes = new[] { Local, SameSubnet, OtherSubnet, Node("node-0", ["192.168.1.9"], "10.244.1.0/25") };
        var first = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, nodes);
        var second = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, nodes.Reverse());

        Assert.Equal(first.Routes, second.Routes);
        Assert.Equal(first.Problems, second.Problems);
    }

    [Fact]
    public void FromNode_ReadsPodCidrsAndInternalAddressFirst()
    {
        var problems = new List<string>();
        var node = NodeAddressing.FromNode(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = "node-7" },
            Spec = new V1NodeSpec { PodCIDRs = ["10.244.7.0/24", "fd00:10:244:7::/64", "10.244.77.0/24", "10.244.7.1/24"] },
            Status = new V1NodeStatus
            {
                Addresses =
                [
                    new V1NodeAddress { Type = "Hostname", Address = "node-7" },
                    new V1NodeAddress { Type = "ExternalIP", Address = "203.0.113.7" },
                    new V1NodeAddress { Type = "InternalIP", Address = "192.168.1.7" },
                    new V1NodeAddress { Type = "InternalIP", Address = "not-an-ip" },
                ],
            },
        }, problems);

        Assert.Equal([IPNetwork.Parse("10.244.7.0/24"), IPNetwork.Parse("fd00:10:244:7::/64")], node.PodCidrs);
        Assert.Equal([IPAddress.Parse("192.168.1.7"), IPAddress.Parse("203.0.113.7")], node.Addresses);
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.Contains("spec.podCIDRs[2]"));
        Assert.Contains(problems, p => p.Contains("spec.podCIDRs[3]"));
        Assert.Contains(problems, p => p.Contains("not-an-ip"));
    }
}

/// <summary>Remote clusters' ranges (the mesh): every node but a gateway sends them to a gateway node, the way it reaches that node's pods.</summary>
public sealed class RoutePlannerRemoteRangesTests
{
    private static readonly IPNetwork[] Subnet1 = [IPNetwork.Parse("192.168.1.0/24")];
    private static readonly IPNetwork[] Remote = [IPNetwork.Parse("10.248.0.0/16"), IPNetwork.Parse("10.97.0.0/16")];

    private static NodeAddressing Node(string name, string address, string cidr, bool gateway = false) =>
        new(name, [IPAddress.Parse(address)], [IPNetwork.Parse(cidr)]) { Gateway = gateway };

    private static readonly NodeAddressing Local = Node("node-1", "192.168.1.1", "10.244.0.0/24");

    [Fact]
    public void RemoteRanges_GoToTheGatewayNode_Directly_WhenItIsOnLink()
    {
        var gateway = Node("gw-1", "192.168.1.9", "10.244.9.0/24", gateway: true);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, gateway], Remote);

        Assert.Empty(plan.Problems);
        foreach (var remote in Remote)
            Assert.Contains(new PodRoute("gw-1", remote, IPAddress.Parse("192.168.1.9"), Overlay: false), plan.Routes);
    }

    [Fact]
    public void RemoteRanges_GoThroughTheOverlay_WhenTheGatewayIsBeyondTheSubnet()
    {
        var gateway = Node("gw-1", "192.168.7.9", "10.244.9.0/24", gateway: true);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, gateway], Remote);

        var toPods = Assert.Single(plan.Routes, r => r.Destination == IPNetwork.Parse("10.244.9.0/24"));
        Assert.True(toPods.Overlay);
        foreach (var remote in Remote)
            Assert.Contains(toPods with { Destination = remote }, plan.Routes);
    }

    [Fact]
    public void TheFirstGatewayByName_IsUsed_AndNonGatewaysNever()
    {
        var plain = Node("a-plain", "192.168.1.2", "10.244.2.0/24");
        var second = Node("gw-2", "192.168.1.8", "10.244.8.0/24", gateway: true);
        var first = Node("gw-1", "192.168.1.9", "10.244.9.0/24", gateway: true);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [second, plain, Local, first], Remote);

        Assert.All(plan.Routes.Where(r => Remote.Contains(r.Destination)), r => Assert.Equal("gw-1", r.Node));
    }

    [Theory]
    [InlineData("", "gw-1")]
    [InlineData("gw-1", "gw-2")]
    [InlineData("gw-2", "gw-1")]
    [InlineData("gw-1,gw-2", "gw-3")]
    [InlineData("gw-1,gw-3", "gw-2")]
    [InlineData("gw-3", "gw-1")]
    [InlineData("gw-1,gw-2,gw-3", "gw-1")] // none known live: the first by name rather than nothing
    public void RemoteRanges_GoToTheFirstLiveGatewayByName(string dead, string expected)
    {
        var down = dead.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var gateways = new[] { Node("gw-3", "192.168.1.7", "10.244.7.0/24", gateway: true), Node("gw-1", "192.168.1.9", "10.244.9.0/24", gateway: true), Node("gw-2", "192.168.1.8", "10.244.8.0/24", gateway: true) };

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, .. gateways], Remote, isGatewayLive: name => !down.Contains(name));

        Assert.Empty(plan.Problems);
        var via = gateways.Single(g => g.Name == expected);
        foreach (var remote in Remote)
            Assert.Contains(new PodRoute(expected, remote, via.Addresses[0], Overlay: false), plan.Routes);
        Assert.Equal(Remote.Length, plan.Routes.Count(r => Remote.Contains(r.Destination)));
        // The gateways' own pod ranges stay routed to them, dead or not: liveness moves only the remote ranges.
        Assert.All(gateways, g => Assert.Contains(plan.Routes, r => r.Node == g.Name && r.Destination == g.PodCidrs[0]));
    }

    [Fact]
    public void ALiveGatewayThatCannotBeRouted_IsPassedOver_ForTheNextLiveOne()
    {
        // gw-1 is live but has only an IPv6 pod range (no route of the remote ranges' family): gw-2 takes them.
        var first = new NodeAddressing("gw-1", [IPAddress.Parse("192.168.1.9")], [IPNetwork.Parse("fd00:9::/64")]) { Gateway = true };
        var second = Node("gw-2", "192.168.1.8", "10.244.8.0/24", gateway: true);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, first, second], Remote, isGatewayLive: _ => true);

        Assert.All(plan.Routes.Where(r => Remote.Contains(r.Destination)), r => Assert.Equal("gw-2", r.Node));
    }

    [Theory]
    [InlineData("gw-1", "", null)] // first by name: it carries, its tunnel routes them
    [InlineData("gw-2", "", "gw-1")] // a standby: to the carrier, like any node
    [InlineData("gw-2", "gw-1", null)] // the carrier dead: the standby carries now
    [InlineData("gw-3", "gw-1", "gw-2")]
    [InlineData("gw-3", "gw-1,gw-2", null)]
    [InlineData("gw-1", "gw-1", null)] // its own probes never count a gateway dead to itself
    public void OnAGateway_RemoteRangesGoToTheCarrier_WhichIsItselfWhenFirstLive(string self, string dead, string? expected)
    {
        var down = dead.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var all = new[] { Node("gw-1", "192.168.1.9", "10.244.9.0/24", gateway: true), Node("gw-2", "192.168.1.8", "10.244.8.0/24", gateway: true), Node("gw-3", "192.168.1.7", "10.244.7.0/24", gateway: true) };
        var local = all.Single(n => n.Name == self);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, local, Subnet1, all, Remote, isGatewayLive: name => !down.Contains(name));

        Assert.Empty(plan.Problems);
        var remote = plan.Routes.Where(r => Remote.Contains(r.Destination)).ToList();
        if (expected is null)
        {
            Assert.Empty(remote);
        }
        else
        {
            Assert.Equal(Remote.Length, remote.Count);
            Assert.All(remote, r => Assert.Equal(new PodRoute(expected, r.Destination, all.Single(n => n.Name == expected).Addresses[0], Overlay: false), r));
        }
    }

    [Fact]
    public void GatewaysAreOrderedByTheirAnnouncedNames_TheFirstLabel_AsRemoteMembersOrderThem()
    {
        // By full name "gw-a-b.zone" sorts first ('-' < '.'); remote members know the gateways as "gw-a" and "gw-a-b".
        var longer = Node("gw-a-b.zone", "192.168.1.8", "10.244.8.0/24", gateway: true);
        var shorter = Node("gw-a.zone", "192.168.1.9", "10.244.9.0/24", gateway: true);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, longer, shorter], Remote);

        Assert.All(plan.Routes.Where(r => Remote.Contains(r.Destination)), r => Assert.Equal("gw-a.zone", r.Node));
    }

    [Fact]
    public void WithoutAGateway_RemoteRangesAreAProblem_NotARoute()
    {
        var plain = Node("node-2", "192.168.1.2", "10.244.2.0/24");

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, plain], Remote);

        Assert.DoesNotContain(plan.Routes, r => Remote.Contains(r.Destination));
        Assert.Equal(2, plan.Problems.Count(p => p.Contains("no gateway node")));
    }

    [Fact]
    public void ARemoteRangeOverlappingAPodRange_IsNotRouted()
    {
        var gateway = Node("gw-1", "192.168.1.9", "10.248.1.0/24", gateway: true);

        var plan = RoutePlanner.Plan(RoutingMode.Auto, Local, Subnet1, [Local, gateway], Remote);

        Assert.DoesNotContain(plan.Routes, r => r.Destination == IPNetwork.Parse("10.248.0.0/16"));
        Assert.Contains(plan.Problems, p => p.Contains("10.248.0.0/16") && p.Contains("gw-1"));
        Assert.Contains(plan.Routes, r => r.Destination == IPNetwork.Parse("10.97.0.0/16"));
    }

    [Fact]
    public void TheGatewayLabel_IsReadFromTheNode()
    {
        var problems = new List<string>();
        var node = new k8s.Models.V1Node
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "gw", Labels = new Dictionary<string, string> { ["patronus.io/gateway"] = "true" } },
        };

        Assert.True(NodeAddressing.FromNode(node, problems, "patronus.io/gateway").Gateway);
        Assert.False(NodeAddressing.FromNode(node, problems, "other/label").Gateway);
        Assert.False(NodeAddressing.FromNode(node, problems).Gateway);
        node.Metadata.Labels["patronus.io/gateway"] = "false";
        Assert.False(NodeAddressing.FromNode(node, problems, "patronus.io/gateway").Gateway);
    }
}
