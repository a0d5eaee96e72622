using System.Net;
using Patronus.Cli.Lab;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Tests.Lab;

public class LabPlanTests
{
    private static LabPlan Plan(string yaml, string name = "lab", string directory = "/run/labs/lab") =>
        LabPlan.Create(LabConfigReader.Read(yaml, "LAB.yaml", "/labs", checkFiles: false), name, directory);

    private static string Error(string yaml) => Assert.Throws<LabConfigException>(() => Plan(yaml)).Message;

    private const string ThreeNodes = """
        clusters:
        - id: cluster-a
          podCIDR: 10.244.0.0/16
          nodes:
          - {name: node-1, subnet: s1}
          - {name: node-2, subnet: s1}
          - {name: node-3, subnet: s2, podCIDRs: [10.244.0.0/24]}
        """;

    [Fact]
    public void Nodes_GetTheLowestFreeSlash24_AroundTheRangesNodesNameThemselves()
    {
        var nodes = Plan(ThreeNodes).Clusters[0].Nodes;

        Assert.Equal(IPNetwork.Parse("10.244.1.0/24"), nodes[0].PodCIDRs[0]);
        Assert.Equal(IPNetwork.Parse("10.244.2.0/24"), nodes[1].PodCIDRs[0]);
        Assert.Equal(IPNetwork.Parse("10.244.0.0/24"), nodes[2].PodCIDRs[0]);
    }

    [Fact]
    public void IPv6_DefaultsToARangeDerivedFromTheIPv4One_AndEachNodeGetsASlash64()
    {
        var cluster = Plan(ThreeNodes).Clusters[0];

        Assert.Equal(IPNetwork.Parse("fd00:af4::/32"), cluster.PodCIDRv6);
        Assert.Equal(
            [IPNetwork.Parse("fd00:af4::/64"), IPNetwork.Parse("fd00:af4:0:1::/64"), IPNetwork.Parse("fd00:af4:0:2::/64")],
            cluster.Nodes.Select(n => n.PodCIDRs[1]));
    }

    [Fact]
    public void AGivenIPv6Range_IsUsed_AndANodesOwnIPv6RangeIsKept()
    {
        var cluster = Plan("""
            clusters:
            - id: a
              podCIDRv6: "fd10::/56"
              nodes: [{name: n1, podCIDRs: [10.244.5.0/24, "fd10:0:0:7::/64"]}, {name: n2}]
            """).Clusters[0];

        Assert.Equal(IPNetwork.Parse("fd10:0:0:7::/64"), cluster.Nodes[0].PodCIDRs[1]);
        Assert.Equal(IPNetwork.Parse("fd10::/64"), cluster.Nodes[1].PodCIDRs[1]);
        Assert.Equal(IPNetwork.Parse("10.244.0.0/24"), cluster.Nodes[1].PodCIDRs[0]);
    }

    [Fact]
    public void NodesOnOneSubnet_ShareItsRange_AndAnotherSubnetIsRoutedThroughTheRouter()
    {
        var plan = Plan(ThreeNodes);
        var nodes = plan.Clusters[0].Nodes;

        Assert.Equal(["s1", "s2"], plan.Subnets.Select(s => s.Name));
        Assert.Equal(IPAddress.Parse("172.30.0.10"), nodes[0].Address);
        Assert.Equal(IPAddress.Parse("172.30.0.11"), nodes[1].Address);
        Assert.Equal(IPAddress.Parse("172.30.1.10"), nodes[2].Address);
        Assert.Equal(IPAddress.Parse("fd7a:11ab:0:1::a"), nodes[2].AddressV6);
        Assert.Equal(IPAddress.Parse("172.30.1.1"), plan.Subnets[1].RouterV4);
        Assert.Equal("http://172.30.1.10:9402/metrics", nodes[2].Metrics);
    }

    [Fact]
    public void EveryNamespace_StartsWithTheLabsName_AndInterfaceNamesFitTheKernelsLimit()
    {
        var plan = Plan(ThreeNodes, name: "demo");

        Assert.Equal(["demo.cluster-a.node-1", "demo.cluster-a.node-2", "demo.cluster-a.node-3"], plan.Clusters[0].Nodes.Select(n => n.Netns));
        Assert.Equal("demo.internet", plan.Internet.Netns);
        Assert.StartsWith(LabNames.Prefix("demo"), LabNames.Fabric("demo"));
        Assert.StartsWith(LabNames.Prefix("demo"), LabNames.Router("demo"));
        Assert.StartsWith(LabNames.Prefix("demo"), LabNames.Pod("demo", "cluster-a", "shop", "web"));
        Assert.All(new[] { LabNames.SubnetBridge(254), LabNames.FabricNodePort(99999), LabNames.FabricRouterPort(254), LabNames.RouterLeg(254), LabNames.Uplink, LabNames.RouterToInternet },
            name => Assert.True(name.Length <= 15, name));
    }

    [Fact]
    public void AVeryLongPodName_GivesAShortenedButDistinctNamespaceName()
    {
        var a = LabNames.Pod("lab", "c", "ns", new string('a', 250));
        var b = LabNames.Pod("lab", "c", "ns", new string('a', 249) + "b");

        Assert.True(a.Length <= 200);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void TheAgentsFiles_AreUnderTheLabsDirectory_PerClusterAndNode()
    {
        var node = Plan(ThreeNodes, directory: "/run/labs/lab").Clusters[0].Nodes[0];

        Assert.Equal("/run/labs/lab/cluster-a/node-1/agent.sock", node.Paths.Socket);
        Assert.Equal("/run/labs/lab/cluster-a/node-1/net.d/10-patronus.conflist", node.Paths.Conflist);
        Assert.Equal("/run/labs/lab/cluster-a/manifests", Plan(ThreeNodes).Clusters[0].ManifestsDirectory);
    }

    [Fact]
    public void OverlappingClusterRanges_AreRefused_NamingBothFields()
    {
        var message = Error("""
            clusters:
            - {id: a, podCIDR: 10.244.0.0/16, nodes: [{name: n1}]}
            - {id: b, podCIDR: 10.244.128.0/17, serviceCIDR: 10.97.0.0/16, nodes: [{name: n1}]}
            """);

        Assert.Contains("clusters[1].podCIDR: 10.244.128.0/17 overlaps clusters[0].podCIDR (10.244.0.0/16)", message);
    }

    [Fact]
    public void TwoClustersWithDefaultServiceRanges_AreRefused() =>
        Assert.Contains("clusters[1].serviceCIDR: 10.96.0.0/16 overlaps clusters[0].serviceCIDR",
            Error("clusters:\n- {id: a, nodes: [{name: n1}]}\n- {id: b, podCIDR: 10.245.0.0/16, nodes: [{name: n1}]}"));

    [Fact]
    public void ClusterRanges_MayNotOverlapTheLabsOwn() =>
        Assert.Contains("clusters[0].podCIDR: 172.30.0.0/16 overlaps the lab's fabric",
            Error("clusters:\n- {id: a, podCIDR: 172.30.0.0/16, nodes: [{name: n1}]}"));

    [Theory]
    [InlineData("[10.245.0.0/24]", "clusters[0].nodes[0].podCIDRs[0]: 10.245.0.0/24 is not inside the cluster's pod range 10.244.0.0/16")]
    [InlineData("[10.244.0.0/31]", "clusters[0].nodes[0].podCIDRs[0]: 10.244.0.0/31 is too small for pods")]
    [InlineData("[10.244.0.0/16]", "clusters[0].nodes[1].podCIDRs[0]: 10.244.0.0/23 overlaps the pod range 10.244.0.0/16 of clusters[0].nodes[0]")]
    public void ANodesOwnRange_MustFitTheCluster(string ranges, string expected) =>
        Assert.Contains(expected, Error($"clusters:\n- id: a\n  nodes: [{{name: n1, podCIDRs: {ranges}}}, {{name: n2, podCIDRs: [10.244.0.0/23]}}]"));

    [Fact]
    public void AFullClusterRange_IsReported() =>
        Assert.Contains("clusters[0].podCIDR: 10.244.0.0/24 has no free /24 left",
            Error("clusters:\n- id: a\n  podCIDR: 10.244.0.0/24\n  nodes: [{name: n1}, {name: n2}]"));

    [Fact]
    public void ASocketPathTooLongForUnixSockets_IsRefusedBeforeAnythingIsMade() =>
        Assert.Contains("is longer than 107 bytes",
            Assert.Throws<LabConfigException>(() => Plan("clusters:\n- {id: a, nodes: [{name: n1}]}", directory: "/" + new string('d', 100))).Message);
}

public class NodeReaddressingTests
{
    private static readonly Patronus.Cli.Lab.Plan.LabPlan Plan = Patronus.Cli.Lab.Plan.LabPlan.Create(
        Patronus.Cli.Lab.Config.LabConfigReader.Read("clusters:\n- id: a\n  nodes: [{name: n1, subnet: s1}, {name: n2, subnet: s1}, {name: n3, subnet: s2}]", "LAB.yaml", "/labs", checkFiles: false),
        "lab", "/run/labs/lab");

    [Theory]
    [InlineData("172.30.0.20", null)]
    [InlineData("fd7a:11ab::20", null)]
    [InlineData("172.30.1.20", "is not on the node's subnet s1 (172.30.0.0/24)")]
    [InlineData("10.1.2.3", "is not on the node's subnet s1")]
    [InlineData("172.30.0.0", "network or broadcast")]
    [InlineData("172.30.0.255", "network or broadcast")]
    [InlineData("172.30.0.1", "is the router's address on subnet s1")]
    [InlineData("fd7a:11ab::1", "is the router's address on subnet s1")]
    [InlineData("172.30.0.11", "is node a/n2's address")]
    public void ANodesNewAddress_MustBeAFreeHostOnItsSubnet(string address, string? problem)
    {
        var result = Patronus.Cli.Lab.Fabric.LabFabric.CheckAddress(Plan, Plan.Nodes.First(), System.Net.IPAddress.Parse(address));

        if (problem is null)
            Assert.Null(result);
        else
            Assert.Contains(problem, result);
    }
}
