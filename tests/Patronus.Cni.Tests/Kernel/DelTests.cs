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
}
