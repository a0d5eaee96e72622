namespace Patronus.Cni.Tests.Kernel;

/// <summary>DEL succeeds whenever what it would remove is already gone.</summary>
[Collection("kernel")]
public class DelTests
{
    [Fact]
    public void Del_Repeated_Succeeds()
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        node.Add("pcni-del-1", pod);
        node.Del("pcni-del-1", pod.Path);
        node.Del("pcni-del-1", pod.Path);
        node.Del("pcni-del-1", pod.Path);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    [Fact]
    public void Del_NetnsAlreadyDeleted_SucceedsAndReleasesTheAddress()
    {
        using var node = new Node(subnet6: null);
        var pod = new TestNetns("pod");
        node.Add("pcni-del-2", pod);
        var path = pod.Path;
        pod.Dispose();
        node.Del("pcni-del-2", path);
        node.Del("pcni-del-2", null);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    [Fact]
    public void Del_InterfaceAlreadyDeleted_SucceedsAndReleasesTheAddress()
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        node.Add("pcni-del-3", pod);
        Shell.Ip("-n", pod.Name, "link", "del", "eth0");
        node.Del("pcni-del-3", pod.Path);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    [Fact]
    public void Del_NeverAdded_Succeeds()
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        node.Del("pcni-del-4", pod.Path);
        node.Del("pcni-del-4", "/var/run/netns/pcni-never-existed");
    }

    [Fact]
    public void Del_AllocationAlreadyGone_StillRemovesTheVeth()
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        node.Add("pcni-del-5", pod);
        Directory.Delete(node.DataDir, recursive: true);
        node.Del("pcni-del-5", pod.Path);
        Assert.Empty(node.OurVeths());
        Assert.DoesNotContain("eth0", pod.Links());
    }

    [Fact]
    public void Del_ThenAddOfTheSameAttachmentAtOnce_Works()
    {
        // DEL returns once the kernel has unlisted the veth, before the kernel frees it: the very next ADD
        // of the same container id and ifname in the same namespace must find the names and the address free.
        using var node = new Node();
        var pod = node.NewPod();
        for (var round = 0; round < 10; round++)
        {
            node.Add("pcni-del-6", pod);
            node.Del("pcni-del-6", pod.Path);
            Assert.DoesNotContain("eth0", pod.Links());
            Assert.Empty(node.OurVeths());
            Assert.Empty(node.ClaimedAddresses());
        }

        node.Add("pcni-del-6", pod);
        Assert.True(Shell.Ping(pod.Name, "10.231.0.1"), "the re-added pod cannot reach the IPv4 gateway");
        Assert.True(Shell.Ping(pod.Name, "fd00:231::1"), "the re-added pod cannot reach the IPv6 gateway");
        node.Del("pcni-del-6", pod.Path);
        Assert.Empty(node.OurVeths());
    }
}
