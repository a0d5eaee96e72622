namespace Patronus.Cni.Tests.Kernel;

/// <summary>
/// What <c>CNI_NETNS</c> may name: a network namespace other than the plugin's own. ADD and CHECK refuse anything
/// else at once (never blocking on a FIFO) and change nothing; DEL never needs the namespace, so it cleans up by
/// container id and interface name whatever the path now is (a stale mount point, a FIFO, nothing at all).
/// </summary>
[Collection("kernel")]
public sealed class NamespaceTargetTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly string _dir = Directory.CreateTempSubdirectory("pcni-nstarget-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A path that exists but is no network namespace, of the kind asked for.</summary>
    private string NotANetns(string kind)
    {
        var path = Path.Combine(_dir, kind.Replace(' ', '-'));
        switch (kind)
        {
            case "fifo":
                Shell.Must("mkfifo", path);
                break;
            case "regular file":
                File.WriteAllText(path, "");
                break;
            case "directory":
                Directory.CreateDirectory(path);
                break;
            case "mount namespace":
                return "/proc/self/ns/mnt";
            case "character device":
                return "/dev/null";
            default:
                throw new ArgumentException(kind);
        }

        return path;
    }

    /// <summary>A node with a default route of its own: a pod interface put in the node would replace it.</summary>
    private static Node NodeWithUplink()
    {
        var node = new Node(subnet6: null);
        try
        {
            // A veth pair for an uplink: these machines have no dummy driver.
            Shell.Ip("-n", node.Ns.Name, "link", "add", "pcniup0", "type", "veth", "peer", "name", "pcniup1");
            Shell.Ip("-n", node.Ns.Name, "link", "set", "pcniup1", "up");
            Shell.Ip("-n", node.Ns.Name, "link", "set", "pcniup0", "up");
            Shell.Ip("-n", node.Ns.Name, "addr", "add", "192.0.2.2/24", "dev", "pcniup0");
            Shell.Ip("-n", node.Ns.Name, "route", "add", "default", "via", "192.0.2.1");
            return node;
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    [Theory]
    [InlineData("/proc/self/ns/net")]
    [InlineData("/proc/thread-self/ns/net")]
    [InlineData("node's named mount")]
    public void Add_NetnsIsThePluginsOwn_IsRefusedWithCode4AndTheNodeIsUntouched(string target)
    {
        using var node = NodeWithUplink();
        var path = target == "node's named mount" ? node.Ns.Path : target;
        var before = node.State();

        var add = node.Invoke("ADD", "pcni-own-1", path, timeout: Bound);

        Assert.True(add.ExitCode != 0, $"ADD into the plugin's own namespace succeeded: {add}");
        Assert.Equal(4, add.ErrorCode);
        Assert.Contains("CNI_NETNS", add.Message);
        Assert.Contains("the plugin's own network namespace", add.Message);
        Assert.Equal(before, node.State());
        Assert.Empty(node.ClaimedAddresses());

        var check = node.Invoke("CHECK", "pcni-own-1", path, conf: node.WithMember("prevResult", """{"cniVersion":"1.1.0","ips":[]}"""), timeout: Bound);
        Assert.Equal(4, check.ErrorCode);
        Assert.Contains("the plugin's own network namespace", check.Message);

        var del = node.Invoke("DEL", "pcni-own-1", path, timeout: Bound);
        Assert.True(del.ExitCode == 0, del.ToString());
        Assert.Equal(before, node.State());
    }

    [Theory]
    [InlineData("ADD", "fifo")]
    [InlineData("CHECK", "fifo")]
    [InlineData("ADD", "directory")]
    [InlineData("CHECK", "directory")]
    [InlineData("ADD", "character device")]
    [InlineData("CHECK", "regular file")]
    [InlineData("CHECK", "mount namespace")]
    public void AddOrCheck_NetnsIsNoNetworkNamespace_FailsAtOnceWithCode4AndMakesNothing(string verb, string kind)
    {
        using var node = new Node(subnet6: null);
        var path = NotANetns(kind);
        var linksBefore = node.LinkNames();
        var conf = verb == "CHECK" ? node.WithMember("prevResult", """{"cniVersion":"1.1.0","ips":[]}""") : null;

        var outcome = node.Invoke(verb, "pcni-notns-1", path, conf: conf, timeout: Bound);

        Assert.False(outcome.TimedOut, $"{verb} blocked on a {kind} as CNI_NETNS: {outcome}");
        Assert.Equal(4, outcome.ErrorCode);
        Assert.Contains($"CNI_NETNS \"{path}\"", outcome.Message);
        Assert.Contains("not a network namespace", outcome.Message);
        Assert.Equal(linksBefore, node.LinkNames());
        Assert.Empty(node.ClaimedAddresses());
        Assert.Equal("", outcome.Stderr);
    }

    [Theory]
    [InlineData("regular file")]
    [InlineData("fifo")]
    [InlineData("directory")]
    [InlineData("mount namespace")]
    public void Del_NetnsNowNamesNoNetworkNamespace_SucceedsAndCleansUpByContainerIdAndIfName(string kind)
    {
        using var node = new Node();
        var pod = node.NewPod();
        node.Add("pcni-stale-1", pod);
        Assert.Single(node.OurVeths());
        var stale = NotANetns(kind);

        var del = node.Invoke("DEL", "pcni-stale-1", stale, timeout: Bound);

        Assert.False(del.TimedOut, $"DEL blocked on a {kind} as CNI_NETNS: {del}");
        Assert.True(del.ExitCode == 0, $"DEL with a {kind} as CNI_NETNS failed: {del}");
        Assert.Equal("", del.Stdout);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.DoesNotContain(" eth0@", pod.Links());
        Assert.True(node.Invoke("DEL", "pcni-stale-1", stale, timeout: Bound).ExitCode == 0, "a repeated DEL failed");
    }
}
