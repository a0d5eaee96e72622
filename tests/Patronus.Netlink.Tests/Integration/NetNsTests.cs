using Patronus.Testing;

namespace Patronus.Netlink.Tests.Integration;

public sealed class NetNsTests
{
    [Fact]
    public void Create_MakesNamedNamespaceIpSees_DeleteRemovesIt()
    {
        var name = $"pnl-{Guid.NewGuid().ToString("N")[..10]}";
        try
        {
            using (var ns = NetNs.Create(name))
            {
                Assert.Contains(name, Shell.Run("ip", "netns list"));
                using var netlink = RtNetlink.OpenIn(ns);
                netlink.LinkAddBridge("brx");
                Assert.Contains("brx", Shell.Run("ip", $"-n {name} link show"));
                Assert.DoesNotContain("brx", Shell.Run("ip", "link show"));

                var duplicate = Assert.Throws<NetlinkException>(() => NetNs.Create(name));
                Assert.True(duplicate.IsExists);
            }

            NetNs.Delete(name);
            Assert.DoesNotContain(name, Shell.Run("ip", "netns list"));
            Assert.False(File.Exists($"/var/run/netns/{name}"));
            NetNs.Delete(name); // missing is success
        }
        finally
        {
            Shell.TryRun("ip", $"netns delete {name}");
        }
    }

    [Fact]
    public void Run_ExecutesInsideTheNamespace_AndPropagatesExceptions()
    {
        using var ns = new TestNamespace();
        ns.Netlink.LinkAddBridge("brinside");

        var seen = ns.Ns.Run(() => File.ReadAllText("/proc/thread-self/net/dev").Contains("brinside"));
        Assert.True(seen);
        Assert.DoesNotContain("brinside", File.ReadAllText("/proc/thread-self/net/dev"));

        var error = Assert.Throws<InvalidOperationException>(() => ns.Ns.Run(() => throw new InvalidOperationException("boom")));
        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public void Sysctl_WriteInsideRun_AffectsOnlyThatNamespace()
    {
        using var ns = new TestNamespace();
        var outside = Sysctl.Read("net.ipv4.ip_forward");

        ns.Ns.Run(() => Sysctl.Write("net.ipv4.ip_forward", outside == "1" ? "0" : "1"));

        Assert.Equal(outside == "1" ? "0" : "1", ns.Exec("cat /proc/sys/net/ipv4/ip_forward").Trim());
        Assert.Equal(outside, Sysctl.Read("net.ipv4.ip_forward"));
    }

    [Fact]
    public void OpenPath_OnRegularFile_SaysItIsNotANamespace()
    {
        var path = Path.GetTempFileName();
        try
        {
            var error = Assert.Throws<ArgumentException>(() => NetNs.OpenPath(path));
            Assert.Contains($"{path} is not a namespace file", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task OpenPath_OnAFifo_RefusesAtOnceWithoutOpeningIt()
    {
        // Opening a FIFO for reading blocks until a writer comes; a namespace path must never do that.
        var path = Path.Combine(Path.GetTempPath(), $"pnl-fifo-{Guid.NewGuid():N}");
        Shell.Run("mkfifo", path);
        try
        {
            var open = Task.Run(() => Assert.Throws<ArgumentException>(() => NetNs.OpenPath(path)));
            Assert.True(await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10))) == open, "OpenPath blocked on a FIFO");
            Assert.Contains($"{path} is not a namespace file", (await open).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("/dev/null")]
    [InlineData("/tmp")]
    public void OpenPath_OnADeviceOrFolder_SaysItIsNotANamespace(string path)
    {
        var error = Assert.Throws<ArgumentException>(() => NetNs.OpenPath(path));
        Assert.Contains($"{path} is not a namespace file", error.Message);
    }

    [Fact]
    public void IsSameNamespaceAs_TellsTheSameNamespaceByAnyPathFromAnother()
    {
        using var test = new TestNamespace();
        using var viaMount = NetNs.OpenPath(NetworkNamespace.PathOf(test.Name));
        using var current = NetNs.Current();
        using var viaProc = NetNs.OpenPath("/proc/self/ns/net");

        Assert.True(test.Ns.IsSameNamespaceAs(viaMount));
        Assert.True(current.IsSameNamespaceAs(viaProc));
        Assert.False(test.Ns.IsSameNamespaceAs(current));
    }

    [Fact]
    public void OpenPath_OnOtherNamespaceType_SaysSo()
    {
        var error = Assert.Throws<ArgumentException>(() => NetNs.OpenPath("/proc/self/ns/uts"));
        Assert.Contains("not a network namespace", error.Message);
    }

    [Fact]
    public void OpenPath_Missing_ThrowsNotFound()
    {
        var error = Assert.Throws<NetlinkException>(() => NetNs.OpenPath("/var/run/netns/pnl-does-not-exist"));
        Assert.True(error.IsNotFound);
    }

    [Fact]
    public void Current_IsTheThreadsNamespace()
    {
        using var current = NetNs.Current();
        using var netlink = RtNetlink.OpenIn(current);
        Assert.NotNull(netlink.LinkByName("lo"));
    }
}
