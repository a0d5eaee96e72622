using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>
/// An <c>ipam.type</c> that leads back to patronus-cni (by name, a symlink, a hard link, or a copy) is refused
/// with code 7 instead of each plugin starting another. Every run here happens in a pids cgroup of at most
/// <see cref="MaxProcesses"/> processes, under a timeout, with a <c>CNI_PATH</c> that holds only the plugin under
/// test: a regression fails these tests with a refused fork, not by fork-bombing the machine running the suite.
/// </summary>
[Collection("kernel")]
public sealed class SelfDelegationTests : IDisposable
{
    private const int MaxProcesses = 24;

    // Inside the checkout, so a hard link to the published binary stays on its file system.
    private readonly string _path = Directory.CreateDirectory(
        Path.Combine(Plugin.RepoRoot, "artifacts", "test-tmp", "pcni-self-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_path, recursive: true);

    [Theory]
    [InlineData("patronus-cni", "symlink")]
    [InlineData("pcni-alias-ipam", "symlink")]
    [InlineData("pcni-linked-ipam", "hard link")]
    [InlineData("pcni-copied-ipam", "copy")]
    public void Add_IpamTypeLeadsBackToThePlugin_IsRefusedWithCode7(string ipamType, string how)
    {
        var entry = Path.Combine(_path, ipamType);
        switch (how)
        {
            case "symlink":
                File.CreateSymbolicLink(entry, Plugin.Path);
                break;
            case "hard link":
                Shell.Must("ln", Plugin.Path, entry);
                break;
            default:
                File.Copy(Plugin.Path, entry);
                break;
        }

        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        node.Conf = node.WithMember("ipam", $$"""{"type":"{{ipamType}}","subnet":"10.232.0.0/24","dataDir":"{{node.DataDir}}"}""");
        using var cage = new PidsCage(MaxProcesses);

        var add = node.Invoke("ADD", "pcni-self-1", pod.Path, cniPath: _path, timeout: TimeSpan.FromSeconds(30), cage: cage);
        var refused = cage.ForksRefused;
        var del = node.Invoke("DEL", "pcni-self-1", pod.Path, cniPath: _path, timeout: TimeSpan.FromSeconds(30), cage: cage);

        Assert.False(add.TimedOut, $"ADD with ipam.type {ipamType} ({how} of the plugin) did not finish: {add}");
        Assert.True(refused == 0, $"ADD with ipam.type {ipamType} ({how}) tried to run more than {MaxProcesses} processes at once");
        Assert.Equal(7, add.ErrorCode);
        Assert.Contains($"ipam.type \"{ipamType}\"", add.Message);
        Assert.Contains("patronus-cni itself", add.Message);
        MessageHygiene.AssertClean(add.Message + add.Stderr, "ADD's output");
        Assert.Empty(node.OurVeths());
        Assert.DoesNotContain(" eth0@", pod.Links());

        Assert.False(del.TimedOut, $"DEL with ipam.type {ipamType} did not finish: {del}");
        Assert.Equal(0, cage.ForksRefused);
        Assert.Equal(7, del.ErrorCode);
    }
}
