using System.Net;
using Patronus.Cli.Lab.Config;

namespace Patronus.Cli.Tests.Lab;

public class LabConfigReaderTests
{
    private static LabConfig Read(string yaml) => LabConfigReader.Read(yaml, "LAB.yaml", "/labs", checkFiles: false);

    private static string Error(string yaml) => Assert.Throws<LabConfigException>(() => Read(yaml)).Message;

    [Fact]
    public void TheIssuesExample_IsRead_WithManifestsRelativeToTheFile()
    {
        var config = Read("""
            clusters:
            - id: cluster-a
              podCIDR: 10.244.0.0/16
              serviceCIDR: 10.96.0.0/16
              nodes:
              - {name: node-1, subnet: s1}
              - {name: node-2, subnet: s1}
              - {name: node-3, subnet: s2, podCIDRs: [10.244.9.0/24]}
              manifests: [apps.yaml]
            """);

        var cluster = Assert.Single(config.Clusters);
        Assert.Equal("cluster-a", cluster.Id);
        Assert.Equal(IPNetwork.Parse("10.244.0.0/16"), cluster.PodCIDR);
        Assert.Null(cluster.PodCIDRv6);
        Assert.Equal(IPNetwork.Parse("10.96.0.0/16"), cluster.ServiceCIDR);
        Assert.Equal(["node-1", "node-2", "node-3"], cluster.Nodes.Select(n => n.Name));
        Assert.Equal(["s1", "s1", "s2"], cluster.Nodes.Select(n => n.Subnet));
        Assert.Equal([IPNetwork.Parse("10.244.9.0/24")], cluster.Nodes[2].PodCIDRs);
        Assert.Equal(["/labs/apps.yaml"], cluster.Manifests);
    }

    [Fact]
    public void LeftOutKeys_TakeTheDefaults_AndEachClusterIsItsOwnSubnet()
    {
        var config = Read("""
            clusters:
            - id: a
              nodes: [{name: n1, gateway: true}]
            """);

        var cluster = Assert.Single(config.Clusters);
        Assert.Equal(IPNetwork.Parse(ClusterConfig.DefaultPodCIDR), cluster.PodCIDR);
        Assert.Equal(IPNetwork.Parse(ClusterConfig.DefaultServiceCIDR), cluster.ServiceCIDR);
        Assert.Equal("a", cluster.Nodes[0].Subnet);
        Assert.True(cluster.Nodes[0].Gateway);
        Assert.Empty(cluster.Manifests);
    }

    [Fact]
    public void SeveralClusters_AreRead_WithTheirOwnRanges()
    {
        var config = Read("""
            name: mesh
            clusters:
            - {id: aws-us-west-2, podCIDR: 10.244.0.0/16, podCIDRv6: "fd00:1::/48", serviceCIDR: 10.96.0.0/16, nodes: [{name: gw, gateway: true}]}
            - {id: gcp-us-central1, podCIDR: 10.248.0.0/16, serviceCIDR: 10.100.0.0/16, nodes: [{name: gw}]}
            """);

        Assert.Equal("mesh", config.Name);
        Assert.Equal(["aws-us-west-2", "gcp-us-central1"], config.Clusters.Select(c => c.Id));
        Assert.Equal(IPNetwork.Parse("fd00:1::/48"), config.Clusters[0].PodCIDRv6);
    }

    [Theory]
    [InlineData("clusters: []", "LAB.yaml:1: clusters: needs at least one cluster")]
    [InlineData("{}", "LAB.yaml:1: clusters: is required")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1}]\n  podCIDR: 10.244.1.0/16", "LAB.yaml:4: clusters[0].podCIDR: \"10.244.1.0/16\" is not a network in CIDR form")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1}]\n  podCIDR: fd00::/48", "clusters[0].podCIDR: fd00::/48 is not an IPv4 range")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1}]\n  podCIDR: 10.244.0.0/25", "clusters[0].podCIDR: 10.244.0.0/25 is too narrow")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1}]\n  podCIDRv6: 10.0.0.0/8", "clusters[0].podCIDRv6: 10.0.0.0/8 is not an IPv6 range")]
    [InlineData("clusters:\n- id: A_1\n  nodes: [{name: n1}]", "clusters[0].id: \"A_1\" is not a cluster id")]
    [InlineData("clusters:\n- id: a\n  nodes: []", "clusters[0].nodes: needs at least one node")]
    [InlineData("clusters:\n- id: a", "clusters[0].nodes: is required")]
    [InlineData("clusters:\n- id: a\n  nodes: [{subnet: s1}]", "clusters[0].nodes[0].name: is required")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1, subnet: S 1}]", "clusters[0].nodes[0].subnet: \"S 1\" is not a subnet name")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1, podCIDRs: [10.244.9.0/33]}]", "clusters[0].nodes[0].podCIDRs[0]: \"10.244.9.0/33\" is not a network in CIDR form")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1, podCIDRs: [10.244.9.0/24, 10.244.8.0/24]}]", "clusters[0].nodes[0].podCIDRs[1]: a node has at most one pod range per address family")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1, podCIDRs: [\"fd00::/64\"]}]", "clusters[0].nodes[0].podCIDRs: needs an IPv4 range")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1, gateway: maybe}]", "clusters[0].nodes[0].gateway: \"maybe\" is not true or false")]
    [InlineData("clusters:\n- id: a\n  clusterSetPreferLocal: sometimes\n  nodes: [{name: n1}]", "clusters[0].clusterSetPreferLocal: \"sometimes\" is not true or false")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1}, {name: n1}]", "clusters[0].nodes: node name \"n1\" is used 2 times")]
    [InlineData("clusters:\n- {id: a, nodes: [{name: n1}]}\n- {id: a, nodes: [{name: n1}]}", "clusters: cluster id \"a\" is used 2 times")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1, subnet: s1, zone: z}]", "LAB.yaml:3: clusters[0].nodes[0].zone: unknown key")]
    [InlineData("clusters:\n- id: a\n  podCidr: 10.0.0.0/16\n  nodes: [{name: n1}]", "LAB.yaml:3: clusters[0].podCidr: unknown key (known here: id, podCIDR")]
    [InlineData("kind: Cluster\nclusters:\n- id: a\n  nodes: [{name: n1}]", "LAB.yaml:1: kind: \"Cluster\" is not supported (expected Lab)")]
    [InlineData("apiVersion: v2\nclusters:\n- id: a\n  nodes: [{name: n1}]", "apiVersion: \"v2\" is not supported (expected patronus.io/v1alpha1)")]
    [InlineData("name: My.Lab\nclusters:\n- id: a\n  nodes: [{name: n1}]", "name: \"My.Lab\" is not a lab name")]
    [InlineData("clusters:\n- id: a\n  nodes: [{name: n1}]\n  manifests: [[x]]", "clusters[0].manifests[0]: expected a file or folder path")]
    [InlineData("clusters: [", "LAB.yaml:2: not valid YAML")]
    public void Mistakes_AreReported_NamingTheLineAndField(string yaml, string expected) =>
        Assert.Contains(expected, Error(yaml));

    [Fact]
    public void EveryMistake_IsReportedAtOnce()
    {
        var message = Error("""
            clusters:
            - id: a
              podCIDR: nonsense
              nodes: [{name: N1}]
            """);

        Assert.Contains("clusters[0].podCIDR", message);
        Assert.Contains("clusters[0].nodes[0].name", message);
    }

    [Fact]
    public void AMissingManifest_IsReported_WithTheFolderItIsRelativeTo()
    {
        var directory = Directory.CreateTempSubdirectory("patronus-labconfig-").FullName;
        try
        {
            var file = Path.Combine(directory, "lab.yaml");
            File.WriteAllText(file, "clusters:\n- id: a\n  nodes: [{name: n1}]\n  manifests: [missing.yaml]\n");

            var message = Assert.Throws<LabConfigException>(() => LabConfigReader.ReadFile(file)).Message;

            Assert.Contains($"{file}:4: clusters[0].manifests[0]: missing.yaml does not exist", message);
            Assert.Contains(directory, message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheDatapath_IsTheLabsUnlessANodeNamesItsOwn_AndLabUpsOverridesBoth()
    {
        var config = Read("""
            datapath: ebpf
            clusters:
            - id: a
              nodes: [{name: n1}, {name: n2, datapath: nftables}]
            """);

        Assert.Equal(["ebpf", "nftables"], Patronus.Cli.Lab.Plan.LabPlan.Create(config, "lab", "/run/lab").Nodes.Select(n => n.Datapath));
        Assert.Equal(["nftables", "nftables"], Patronus.Cli.Lab.Plan.LabPlan.Create(config, "lab", "/run/lab", "nftables").Nodes.Select(n => n.Datapath));
        Assert.Equal(["nftables"], Patronus.Cli.Lab.Plan.LabPlan.Create(Read("clusters: [{id: a, nodes: [{name: n1}]}]"), "lab", "/run/lab").Nodes.Select(n => n.Datapath));
    }

    [Fact]
    public void AnUnknownDatapath_IsRefused_NamingTheField()
    {
        var error = Error("""
            datapath: bpf
            clusters:
            - id: a
              nodes: [{name: n1, datapath: auto}]
            """);

        Assert.Contains("LAB.yaml:1: datapath: \"bpf\" is not a datapath (expected nftables or ebpf)", error);
        Assert.Contains("LAB.yaml:4: clusters[0].nodes[0].datapath: \"auto\" is not a datapath", error);
    }
}
