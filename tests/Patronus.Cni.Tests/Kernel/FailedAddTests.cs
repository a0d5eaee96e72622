namespace Patronus.Cni.Tests.Kernel;

/// <summary>A failed ADD leaves nothing behind: no veth, no allocation, and other pods untouched.</summary>
[Collection("kernel")]
public class FailedAddTests
{
    private static void AssertNothingLeftFor(Node node, TestNetns pod, string ifName = "eth0")
    {
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.DoesNotContain($" {ifName}@", pod.Links());
    }

    [Fact]
    public void Add_InterfaceNameTakenInPod_FailsAndLeavesNothing()
    {
        using var node = new Node();
        var pod = node.NewPod();
        Shell.Ip("-n", pod.Name, "link", "add", "eth0", "type", "veth", "peer", "name", "pcnipeer0");
        var outcome = node.Invoke("ADD", "pcni-fail-1", pod.Path);
        Assert.Equal(4, outcome.ErrorCode);
        Assert.Contains("\"eth0\" already exists", outcome.Message);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.Contains("eth0", pod.Links());
    }

    [Fact]
    public void Add_RouteCannotBeInstalled_FailsAfterAllocatingAndUndoesEverything()
    {
        using var node = new Node();
        // A route whose gateway no interface reaches fails inside the pod, after the veth and the allocation.
        node.Conf = node.Conf.Replace("\"ranges\":", "\"routes\":[{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.99.0.1\"}],\"ranges\":");
        var pod = node.NewPod();
        var outcome = node.Invoke("ADD", "pcni-fail-2", pod.Path);
        Assert.True(outcome.ExitCode != 0, outcome.ToString());
        Assert.Equal(5, outcome.ErrorCode);
        Assert.Contains("192.168.0.0/16", outcome.Message);
        AssertNothingLeftFor(node, pod);
    }

    [Fact]
    public void Add_AddressesExhausted_FailsAndLeavesTheOtherPodsAlone()
    {
        using var node = new Node(subnet4: "10.231.0.0/30", subnet6: null);
        var first = node.NewPod();
        var result = node.Add("pcni-fail-3a", first);
        var second = node.NewPod();
        var outcome = node.Invoke("ADD", "pcni-fail-3b", second.Path);
        Assert.True(outcome.ExitCode != 0, outcome.ToString());
        Assert.Contains("no free address", outcome.Message);
        Assert.Single(node.OurVeths());
        Assert.Single(node.ClaimedAddresses());
        Assert.DoesNotContain(" eth0@", second.Links());
        Assert.True(Shell.Ping(first.Name, "10.231.0.1"));
        node.Del("pcni-fail-3a", first.Path);
        AssertNothingLeftFor(node, first);
    }

    [Fact]
    public void Add_RequestedAddressOutsideTheRange_FailsAndLeavesNothing()
    {
        using var node = new Node(subnet6: null);
        node.Conf = node.WithMember("runtimeConfig", """{"ips":["10.9.9.9/24"]}""");
        var pod = node.NewPod();
        var outcome = node.Invoke("ADD", "pcni-fail-4", pod.Path);
        Assert.Equal(7, outcome.ErrorCode);
        Assert.Contains("runtimeConfig.ips", outcome.Message);
        AssertNothingLeftFor(node, pod);
    }

    [Fact]
    public void Add_BridgeNameTakenByAnotherKindOfDevice_IsAConfigError()
    {
        using var node = new Node(subnet6: null);
        Shell.Ip("-n", node.Ns.Name, "link", "add", node.Bridge, "type", "veth", "peer", "name", "pcnipeer1");
        var pod = node.NewPod();
        var outcome = node.Invoke("ADD", "pcni-fail-5", pod.Path);
        Assert.Equal(7, outcome.ErrorCode);
        Assert.Contains($"bridge: \"{node.Bridge}\" exists but is a veth device", outcome.Message);
        AssertNothingLeftFor(node, pod);
    }
}
