using System.Net;
using Patronus.Cli.Lab;
using Patronus.Policy.Compiled;

namespace Patronus.Cli.Tests.Lab;

public class LabTopologyTests
{
    private static LabPod Pod(string name, string node, params string[] addresses) =>
        new(new EndpointId("x", name), addresses.Select(IPAddress.Parse).ToList(), node);

    [Fact]
    public void OneNode_GetsTheUsualSlash24_AndTheFirstFreeAddressAsGateway()
    {
        var plan = LabTopology.Plan([Pod("a", "n1", "10.0.0.1"), Pod("b", "n1", "10.0.0.7")]);

        var subnet = Assert.Single(Assert.Single(plan.Nodes).Subnets);
        Assert.Equal(IPNetwork.Parse("10.0.0.0/24"), subnet.Network);
        Assert.Equal(IPAddress.Parse("10.0.0.2"), subnet.Gateway);
    }

    [Fact]
    public void PodsSpanningSeveralSlash24s_OnOneNode_GetOneWiderSubnet()
    {
        var plan = LabTopology.Plan([Pod("a", "n1", "10.0.1.5"), Pod("b", "n1", "10.0.2.5")]);

        Assert.Equal(IPNetwork.Parse("10.0.0.0/22"), Assert.Single(plan.Nodes[0].Subnets).Network);
    }

    [Fact]
    public void TwoNodes_WithTheirOwnRanges_GetDisjointSubnets()
    {
        var plan = LabTopology.Plan([Pod("a", "n1", "10.244.1.10"), Pod("b", "n2", "10.244.2.10")]);

        Assert.Equal(IPNetwork.Parse("10.244.1.0/24"), plan.Nodes[0].Subnets[0].Network);
        Assert.Equal(IPNetwork.Parse("10.244.2.0/24"), plan.Nodes[1].Subnets[0].Network);
        Assert.NotEqual(plan.Nodes[0].UnderlayV4, plan.Nodes[1].UnderlayV4);
    }

    [Fact]
    public void TwoNodes_SharingASlash24_AreNarrowedUntilDisjoint()
    {
        var plan = LabTopology.Plan([Pod("a", "n1", "10.0.0.10"), Pod("b", "n2", "10.0.0.200")]);

        var first = plan.Nodes[0].Subnets[0].Network;
        var second = plan.Nodes[1].Subnets[0].Network;
        Assert.False(first.Contains(IPAddress.Parse("10.0.0.200")));
        Assert.False(second.Contains(IPAddress.Parse("10.0.0.10")));
        Assert.True(first.Contains(plan.Nodes[0].Subnets[0].Gateway));
    }

    [Fact]
    public void DualStackPods_GetOneSubnetPerFamily()
    {
        var plan = LabTopology.Plan([Pod("a", "n1", "10.0.0.10", "fd00::10")]);

        var subnets = plan.Nodes[0].Subnets;
        Assert.Equal(IPNetwork.Parse("10.0.0.0/24"), subnets[0].Network);
        Assert.Equal(IPNetwork.Parse("fd00::/64"), subnets[1].Network);
        Assert.Equal(IPAddress.Parse("fd00::1"), subnets[1].Gateway);
    }

    [Fact]
    public void DuplicateAddresses_AreRejectedNamingBothPods()
    {
        var error = Assert.Throws<ArgumentException>(() => LabTopology.Plan([Pod("a", "n1", "10.0.0.1"), Pod("b", "n1", "10.0.0.1")]));

        Assert.Contains("x/a", error.Message);
        Assert.Contains("x/b", error.Message);
    }

    [Fact]
    public void InterleavedNodes_ThatNoSubnetSeparates_AreRejected()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            LabTopology.Plan([Pod("a", "n1", "10.0.0.1"), Pod("b", "n2", "10.0.0.2"), Pod("c", "n1", "10.0.0.3")]));

        Assert.Contains("own pod range", error.Message);
    }

    [Fact]
    public void AnEmptyCluster_IsRejected() =>
        Assert.Throws<ArgumentException>(() => LabTopology.Plan([]));
}
