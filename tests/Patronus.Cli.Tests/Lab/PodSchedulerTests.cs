using System.Net;
using k8s.Models;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Pods;

namespace Patronus.Cli.Tests.Lab;

public class PodSchedulerTests
{
    private static readonly ClusterPlan Cluster = LabPlan.Create(
        LabConfigReader.Read("clusters:\n- id: a\n  nodes: [{name: n1}, {name: n2}]", "LAB.yaml", "/labs", checkFiles: false),
        "lab", "/run/labs/lab").Clusters[0];

    private static V1Pod Pod(string name, string? node = null, params string[] ips) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec { NodeName = node },
        Status = ips.Length == 0 ? null : new V1PodStatus { PodIPs = ips.Select(ip => new V1PodIP { Ip = ip }).ToList() },
    };

    private static (List<PodPlacement> Placed, List<string> Errors) Place(params V1Pod[] pods)
    {
        var errors = new List<string>();
        return (PodScheduler.Place(Cluster, pods, new Dictionary<string, int>(), new HashSet<IPAddress>(), errors), errors);
    }

    [Fact]
    public void PodsWithoutANode_GoToTheNodeWithTheFewestPods()
    {
        var (placed, errors) = Place(Pod("a", "n1"), Pod("b"), Pod("c"), Pod("d"));

        Assert.Empty(errors);
        Assert.Equal(["n1", "n2", "n1", "n2"], placed.Select(p => p.Node.Name));
        Assert.Equal("n2", placed[1].Pod.Spec.NodeName);
        Assert.Equal("default/b", placed[1].Id);
    }

    [Fact]
    public void AnAddressInTheNodesRange_IsKept_WithTheRangesPrefix()
    {
        var (placed, errors) = Place(Pod("a", "n2", "10.244.1.50", "fd00:af4:0:1::50"));

        Assert.Empty(errors);
        Assert.Equal(["10.244.1.50/24", "fd00:af4:0:1::50/64"], placed[0].FixedAddresses);
    }

    [Fact]
    public void AnAddressOutsideTheNodesRange_IsRefused_NamingThePodFieldAndRanges()
    {
        var (placed, errors) = Place(Pod("a", "n1", "10.244.1.50"));

        Assert.Empty(placed);
        Assert.Contains("pod default/a: status.podIPs[0].ip 10.244.1.50 is not in the pod ranges of node n1 (10.244.0.0/24, fd00:af4::/64)", Assert.Single(errors));
    }

    [Theory]
    [InlineData("n9", "spec.nodeName \"n9\" is not a node of cluster a (nodes: n1, n2)")]
    public void AnUnknownNode_IsRefused(string node, string expected) =>
        Assert.Contains(expected, Assert.Single(Place(Pod("a", node)).Errors));

    [Fact]
    public void TheSameAddressTwice_IsRefused() =>
        Assert.Contains("is already another pod's", Assert.Single(Place(Pod("a", "n1", "10.244.0.9"), Pod("b", "n1", "10.244.0.9")).Errors));

    [Fact]
    public void HostNetworkPods_AreRefused()
    {
        var pod = Pod("a");
        pod.Spec.HostNetwork = true;

        Assert.Contains("spec.hostNetwork", Assert.Single(Place(pod).Errors));
    }
}
