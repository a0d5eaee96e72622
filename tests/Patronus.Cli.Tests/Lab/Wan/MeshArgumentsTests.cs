using System.Text.Json.Nodes;
using Patronus.Cli.Lab;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Mesh;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Tests.Lab.Wan;

/// <summary>The mesh options a multi-cluster lab gives each agent, and where its links put the gateways.</summary>
public class MeshArgumentsTests
{
    private static readonly LabPlan Plan = LabPlan.Create(LabConfigReader.Read("""
        clusters:
        - id: aws-us-west-2
          podCIDR: 10.244.0.0/16
          serviceCIDR: 10.96.0.0/16
          nodes: [{name: gw-1, gateway: true}, {name: node-2}]
        - id: gcp-us-central1
          podCIDR: 10.248.0.0/16
          serviceCIDR: 10.97.0.0/16
          nodes: [{name: gw-1, gateway: true}, {name: gw-2, gateway: true}]
        - id: onprem-dc1
          podCIDR: 10.252.0.0/16
          serviceCIDR: 10.98.0.0/16
          nodes: [{name: gw-1, gateway: true}]
        wan:
        - {id: fiber, between: [aws-us-west-2, gcp-us-central1], delay: 5ms}
        - {id: mpls, between: [gcp-us-central1, onprem-dc1]}
        - {id: backup, between: [aws-us-west-2, gcp-us-central1]}
        """, "LAB.yaml", "/labs", checkFiles: false), "lab", "/var/lib/patronus/labs/lab");

    [Fact]
    public void Links_Get198_18_N_AndTheirGateways_AddressesInClusterOrder()
    {
        Assert.Equal(["198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24"], Plan.WanLinks.Select(l => l.Subnet.ToString()));
        var fiber = Plan.WanLinks[0];
        Assert.Equal(["aws-us-west-2/gw-1 198.18.0.1 side 0", "gcp-us-central1/gw-1 198.18.0.2 side 1", "gcp-us-central1/gw-2 198.18.0.3 side 1"],
            fiber.Gateways.Select(g => $"{g.Cluster}/{g.Node} {g.Address} side {g.Side}"));
        Assert.Equal("lab.wan-fiber", fiber.Netns);
        Assert.Equal(["wan0", "wan0", "wan0"], fiber.Gateways.Select(g => g.Interface));
        Assert.Equal(5, fiber.Initial.Delay);
    }

    [Fact]
    public void AGateway_GetsItsKeysInterfaceAndEndpointsOnEveryLink()
    {
        var cluster = Plan.Cluster("gcp-us-central1")!;
        var arguments = MeshArguments.For(Plan, cluster, cluster.Node("gw-1")!, "SETKEY", "/keys");

        Assert.Equal(
        [
            "--cluster-id", "gcp-us-central1",
            "--cluster-set-key", "SETKEY",
            "--remote-clusters", """[{"id":"aws-us-west-2","endpoint":"198.18.0.1:51820","cidr":"10.244.0.0/16,fd00:af4::/32,10.96.0.0/16"},{"id":"onprem-dc1","endpoint":"198.18.1.3:51820","cidr":"10.252.0.0/16,fd00:afc::/32,10.98.0.0/16"}]""",
            "--mesh-keys", "/keys",
            "--mesh-interface", LabNames.MeshInterface("lab", "gcp-us-central1", "gw-1"),
            "--clusterset-ip-range", MeshArguments.ClusterSetIpRange,
            "--clusterset-dns", $"{cluster.Node("gw-1")!.Address}:53",
            // One path per link, named after it, each on a port of its own (one WireGuard device each).
            "--mesh-endpoints", "fiber=198.18.0.2:51820,mpls=198.18.1.1:51830,backup=198.18.2.2:51840",
        ], arguments);
    }

    [Fact]
    public void ALinkWithARate_GivesItsPathThatCapacity_AndTheRemoteEndpointIsTheLegsOwnPort()
    {
        var plan = LabPlan.Create(LabConfigReader.Read("""
            clusters:
            - {id: east, podCIDR: 10.60.0.0/16, serviceCIDR: 10.61.0.0/16, nodes: [{name: gw-1, gateway: true}]}
            - {id: west, podCIDR: 10.62.0.0/16, serviceCIDR: 10.63.0.0/16, nodes: [{name: gw-1, gateway: true}]}
            wan:
            - {id: fast, between: [east, west], delay: 5ms, rate: 50mbit}
            - {id: slow, between: [east, west], delay: 40ms}
            """, "LAB.yaml", "/labs", checkFiles: false), "lab", "/var/lib/patronus/labs/lab");
        var east = plan.Cluster("east")!;
        var arguments = MeshArguments.For(plan, east, east.Node("gw-1")!, "SETKEY", "/keys");

        Assert.Equal("fast=198.18.0.1:51820,slow=198.18.1.1:51830", arguments[arguments.ToList().IndexOf("--mesh-endpoints") + 1]);
        Assert.Equal("fast=50", arguments[arguments.ToList().IndexOf("--path-capacities") + 1]);
        Assert.Contains("\"endpoint\":\"198.18.0.2:51820\"", arguments[arguments.ToList().IndexOf("--remote-clusters") + 1]);
    }

    [Fact]
    public void ANonGateway_GetsTheClusterItsRemotesAndAFolderAndInterfaceOfItsOwn_ButNoEndpoints()
    {
        var cluster = Plan.Cluster("aws-us-west-2")!;
        var arguments = MeshArguments.For(Plan, cluster, cluster.Node("node-2")!, "SETKEY", "/keys");

        Assert.Equal(
        [
            "--cluster-id", "aws-us-west-2",
            "--cluster-set-key", "SETKEY",
            "--remote-clusters", """[{"id":"gcp-us-central1","endpoint":"198.18.0.2:51820","cidr":"10.248.0.0/16,fd00:af8::/32,10.97.0.0/16"}]""",
            "--mesh-keys", "/keys",
            "--mesh-interface", LabNames.MeshInterface("lab", "aws-us-west-2", "node-2"),
            "--clusterset-ip-range", MeshArguments.ClusterSetIpRange,
            "--clusterset-dns", $"{cluster.Node("node-2")!.Address}:53",
        ], arguments);
    }

    [Fact]
    public void AClusterPreferringLocalEndpoints_TellsEveryAgentOfIt_OthersSayNothing()
    {
        var plan = LabPlan.Create(LabConfigReader.Read("""
            clusters:
            - {id: a, podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/16, clusterSetPreferLocal: true, nodes: [{name: gw, gateway: true}, {name: n2}]}
            - {id: b, podCIDR: 10.248.0.0/16, serviceCIDR: 10.97.0.0/16, nodes: [{name: gw, gateway: true}]}
            wan:
            - {id: l, between: [a, b]}
            """, "LAB.yaml", "/labs", checkFiles: false), "lab", "/var/lib/patronus/labs/lab");
        var a = plan.Cluster("a")!;
        var b = plan.Cluster("b")!;

        foreach (var node in a.Nodes)
            Assert.Equal(["--clusterset-prefer-local", "true"], MeshArguments.For(plan, a, node, "K", "/k").SkipWhile(x => x != "--clusterset-prefer-local").Take(2));
        Assert.DoesNotContain("--clusterset-prefer-local", MeshArguments.For(plan, b, b.Node("gw")!, "K", "/k"));
    }

    [Fact]
    public void MeshInterfaces_AreShortAndUniquePerGatewayOnTheMachine()
    {
        var names = new[] { ("lab", "a", "gw-1"), ("lab", "b", "gw-1"), ("other", "a", "gw-1"), ("lab", "a", "gw-2") }
            .Select(n => LabNames.MeshInterface(n.Item1, n.Item2, n.Item3)).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.InRange(n.Length, 1, 15));
    }

    [Fact]
    public void AClusterWithoutLinks_HasNoRemotes()
    {
        var plan = LabPlan.Create(LabConfigReader.Read("""
            clusters:
            - id: a
              nodes: [{name: n1, gateway: true}]
            - id: b
              podCIDR: 10.248.0.0/16
              serviceCIDR: 10.97.0.0/16
              nodes: [{name: n1}]
            """, "LAB.yaml", "/labs", checkFiles: false), "lab", "/tmp/lab");

        Assert.Empty(MeshArguments.RemoteClusters(plan, plan.Clusters[0]));
        Assert.Equal("[]", JsonNode.Parse(MeshArguments.RemoteClusters(plan, plan.Clusters[1]).ToJsonString())!.ToJsonString());
    }

    [Fact]
    public void WanRanges_MayNotOverlapAClustersRanges()
    {
        var error = Assert.Throws<LabConfigException>(() => LabPlan.Create(LabConfigReader.Read("""
            clusters:
            - id: a
              podCIDR: 198.18.0.0/16
              nodes: [{name: n1}]
            """, "LAB.yaml", "/labs", checkFiles: false), "lab", "/tmp/lab")).Message;

        Assert.Contains("clusters[0].podCIDR: 198.18.0.0/16 overlaps the lab's wan links (198.18.0.0/16)", error);
    }
}
