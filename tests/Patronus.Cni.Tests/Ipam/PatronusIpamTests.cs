using System.Net;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Ipam;

public class PatronusIpamTests
{
    private static IPAddress Ip(string text) => IPAddress.Parse(text);

    [Fact]
    public void Allocate_SmallSubnet_GivesEveryUsableAddressOnceThenReportsExhaustion()
    {
        // /29: .0 network, .7 broadcast, .1 gateway; .2-.6 are allocatable.
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/29"}""");
        var ipam = net.NewIpam();
        var given = Enumerable.Range(0, 5).Select(i => ipam.Allocate($"c{i}", "eth0", null).Addresses.Single()).ToList();

        Assert.Equal(["10.10.0.2", "10.10.0.3", "10.10.0.4", "10.10.0.5", "10.10.0.6"], given.Select(a => a.Address.ToString()).Order());
        Assert.All(given, a => Assert.Equal((29, Ip("10.10.0.1")), (a.PrefixLength, a.Gateway)));
        var error = Assert.Throws<CniException>(() => ipam.Allocate("c5", "eth0", null));
        Assert.Equal(CniErrorCode.TryAgainLater, error.Code);
        Assert.Equal("ipam: no free address in range set 0 (10.10.0.1-10.10.0.6) of network \"testnet\"", error.Message);
        Assert.Equal(5, net.Claims().Count);
        Assert.Null(ipam.Find("c5", "eth0"));
    }

    [Fact]
    public void Allocate_GatewayInsideRange_IsSkipped()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/29","gateway":"10.10.0.4"}""");
        var ipam = net.NewIpam();
        var given = Enumerable.Range(0, 5).Select(i => ipam.Allocate($"c{i}", "eth0", null).Addresses.Single().Address.ToString()).Order();

        Assert.Equal(["10.10.0.1", "10.10.0.2", "10.10.0.3", "10.10.0.5", "10.10.0.6"], given);
        Assert.Throws<CniException>(() => ipam.Allocate("c5", "eth0", null));
    }

    [Fact]
    public void Allocate_Repeated_ReturnsTheSameLeaseWithoutAnotherClaim()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24","routes":[{"dst":"0.0.0.0/0"}]}""");
        var first = net.NewIpam().Allocate("c1", "eth0", null);
        var again = net.NewIpam().Allocate("c1", "eth0", null);

        Assert.Equal(first.Addresses, again.Addresses);
        Assert.Equal([new IpamRoute(IPNetwork.Parse("0.0.0.0/0"), null)], again.Routes);
        Assert.Single(net.Claims());
        Assert.Equal(first.Addresses, net.NewIpam().Find("c1", "eth0")!.Addresses);
    }

    [Fact]
    public void Allocate_SameContainerOtherInterface_IsAnotherAttachment()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24"}""");
        var ipam = net.NewIpam();
        var eth0 = ipam.Allocate("c1", "eth0", null).Addresses.Single().Address;
        var net1 = ipam.Allocate("c1", "net1", null).Addresses.Single().Address;

        Assert.NotEqual(eth0, net1);
        ipam.Release("c1", "eth0");
        Assert.Equal([net1], net.Claims().Keys);
    }

    [Fact]
    public void Allocate_DualStack_GivesOneAddressPerRangeSet()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/24"}],[{"subnet":"fd00:10::/64"}]]}""");
        var lease = net.NewIpam().Allocate("c1", "eth0", null);

        Assert.Equal(
            [new LeasedAddress(Ip("10.10.0.2"), 24, Ip("10.10.0.1")), new LeasedAddress(Ip("fd00:10::2"), 64, Ip("fd00:10::1"))],
            lease.Addresses);
    }

    [Fact]
    public void Allocate_RangeSetOfSeveralRanges_MovesToTheNextRangeWhenOneIsFull()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/30"},{"subnet":"10.20.0.0/24","rangeStart":"10.20.0.50","rangeEnd":"10.20.0.51"}]]}""");
        var ipam = net.NewIpam();
        var given = Enumerable.Range(0, 3).Select(i => ipam.Allocate($"c{i}", "eth0", null).Addresses.Single()).ToList();

        Assert.Equal(
            [new LeasedAddress(Ip("10.10.0.2"), 30, Ip("10.10.0.1")), new LeasedAddress(Ip("10.20.0.50"), 24, Ip("10.20.0.1")),
             new LeasedAddress(Ip("10.20.0.51"), 24, Ip("10.20.0.1"))],
            given);
        Assert.Throws<CniException>(() => ipam.Allocate("c3", "eth0", null));
    }

    [Fact]
    public void Allocate_RequestedAddresses_AreHonouredPerRangeSet()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/24"}],[{"subnet":"fd00:10::/64"}]]}""");
        var ipam = net.NewIpam();
        var lease = ipam.Allocate("c1", "eth0", [Ip("fd00:10::beef"), Ip("10.10.0.77")]);
        var onlyV4 = ipam.Allocate("c2", "eth0", [Ip("10.10.0.78")]);

        Assert.Equal([Ip("10.10.0.77"), Ip("fd00:10::beef")], lease.Addresses.Select(a => a.Address));
        Assert.Equal(Ip("10.10.0.78"), onlyV4.Addresses[0].Address);
        Assert.Equal(AddressFamilyOf("fd00::"), onlyV4.Addresses[1].Address.AddressFamily);
    }

    private static System.Net.Sockets.AddressFamily AddressFamilyOf(string text) => Ip(text).AddressFamily;

    [Theory]
    [InlineData("10.10.0.5", CniErrorCode.TryAgainLater, "ipam: requested address 10.10.0.5 is already allocated in network \"testnet\"")]
    [InlineData("10.10.1.5", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.ips: 10.10.1.5 is not inside any range of network \"testnet\" (10.10.0.2-10.10.0.254)")]
    [InlineData("10.10.0.255", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.ips: 10.10.0.255 is not inside any range of network \"testnet\" (10.10.0.2-10.10.0.254)")]
    [InlineData("10.10.0.1", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.ips: 10.10.0.1 is not inside any range of network \"testnet\" (10.10.0.2-10.10.0.254)")]
    public void Allocate_RequestedAddressUnavailable_FailsWithoutClaiming(string requested, CniErrorCode code, string message)
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24","rangeStart":"10.10.0.2"}""");
        var ipam = net.NewIpam();
        ipam.Allocate("holder", "eth0", [Ip("10.10.0.5")]);

        var error = Assert.Throws<CniException>(() => ipam.Allocate("c1", "eth0", [Ip(requested)]));
        Assert.Equal((code, message), (error.Code, error.Message));
        Assert.Equal([Ip("10.10.0.5")], net.Claims().Keys);
        Assert.Equal(1, net.IndexFiles());
    }

    [Fact]
    public void Allocate_RequestedGatewayInsideRange_IsRefused()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24","gateway":"10.10.0.9"}""");
        var error = Assert.Throws<CniException>(() => net.NewIpam().Allocate("c1", "eth0", [Ip("10.10.0.9")]));
        Assert.Equal("runtimeConfig.ips: 10.10.0.9 is the gateway of ipam", error.Message);
    }

    [Fact]
    public void Allocate_TwoRequestedInOneRangeSet_IsRefused()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24"}""");
        var error = Assert.Throws<CniException>(() => net.NewIpam().Allocate("c1", "eth0", [Ip("10.10.0.9"), Ip("10.10.0.10")]));
        Assert.Equal("runtimeConfig.ips: 10.10.0.9 and 10.10.0.10 are both in range set 0; one address per range set is allocated", error.Message);
    }

    [Fact]
    public void Allocate_SecondSetExhausted_LeavesNothingClaimed()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/24"}],[{"subnet":"fd00::/126"}]]}""");
        var ipam = net.NewIpam();
        ipam.Allocate("c1", "eth0", null);
        ipam.Allocate("c2", "eth0", null); // fd00::/126 holds ::2 and ::3 (::1 is the gateway)

        Assert.Throws<CniException>(() => ipam.Allocate("c3", "eth0", null));
        Assert.Equal(4, net.Claims().Count);
        Assert.Equal(2, net.IndexFiles());
    }

    [Fact]
    public void Release_FreesTheAddressForReuse_AndIsIdempotent()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/29"}""");
        var ipam = net.NewIpam();
        var leases = Enumerable.Range(0, 5).Select(i => ipam.Allocate($"c{i}", "eth0", null)).ToList();

        ipam.Release("c2", "eth0");
        ipam.Release("c2", "eth0");
        ipam.Release("never-added", "eth0");
        var reused = ipam.Allocate("c9", "eth0", null);

        Assert.Equal(leases[2].Addresses, reused.Addresses);
        Assert.Null(ipam.Find("c2", "eth0"));
        Assert.Equal(5, net.Claims().Count);
        foreach (var id in new[] { "c0", "c1", "c3", "c4", "c9" })
            ipam.Release(id, "eth0");
        Assert.Empty(net.Claims());
        Assert.Equal(0, net.IndexFiles());
    }

    [Fact]
    public void Allocate_RoundRobin_DoesNotReuseAReleasedAddressAtOnce()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24"}""");
        var ipam = net.NewIpam();
        var first = ipam.Allocate("c1", "eth0", null).Addresses[0].Address;
        ipam.Release("c1", "eth0");

        Assert.NotEqual(first, ipam.Allocate("c2", "eth0", null).Addresses[0].Address);
    }

    [Fact]
    public void Allocate_Slash16_ProbesAHandfulOfAddressesPerCall()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/16","rangeEnd":"10.10.3.255"}""");
        var ipam = net.NewIpam();
        for (var i = 0; i < 1000; i++)
            ipam.Allocate($"c{i}", "eth0", null);
        for (var i = 0; i < 1000; i += 2)
            ipam.Release($"c{i}", "eth0");

        var before = ipam.Store.Probes;
        for (var i = 0; i < 20; i++)
            ipam.Allocate($"d{i}", "eth0", null);
        // The cursor starts each search after the last allocation, so each call probes one address.
        Assert.Equal(20, ipam.Store.Probes - before);

        // Past the end of the range the search wraps into the half-freed start: at most two probes a call.
        for (var i = 20; i < 40; i++)
            ipam.Allocate($"d{i}", "eth0", null);
        before = ipam.Store.Probes;
        for (var i = 40; i < 140; i++)
            ipam.Allocate($"d{i}", "eth0", null);
        Assert.InRange(ipam.Store.Probes - before, 100, 200);
        Assert.Equal(640, net.Claims().Count);
    }

    [Fact]
    public void Allocate_LargeIpv6Range_WrapsAroundFromTheTopWithoutWalking()
    {
        using var net = new IpamTestNetwork("""{"subnet":"fd00::/64","rangeStart":"fd00::ffff:ffff:ffff:fffe"}""");
        var ipam = net.NewIpam();
        var first = ipam.Allocate("c0", "eth0", null).Addresses[0].Address;
        var second = ipam.Allocate("c1", "eth0", null).Addresses[0].Address;
        Assert.Throws<CniException>(() => ipam.Allocate("c2", "eth0", null));
        ipam.Release("c0", "eth0");
        var third = ipam.Allocate("c3", "eth0", null).Addresses[0].Address;

        Assert.Equal([Ip("fd00::ffff:ffff:ffff:fffe"), Ip("fd00::ffff:ffff:ffff:ffff"), Ip("fd00::ffff:ffff:ffff:fffe")], [first, second, third]);
    }

    [Fact]
    public void Allocate_ManyInIpv6Slash64_AreDistinct()
    {
        using var net = new IpamTestNetwork("""{"subnet":"fd00:1::/64"}""");
        var ipam = net.NewIpam();
        var given = Enumerable.Range(0, 1000).Select(i => ipam.Allocate($"c{i}", "eth0", null).Addresses[0].Address).ToHashSet();

        Assert.Equal(1000, given.Count);
        Assert.Equal(1000, ipam.Store.Probes);
    }

    [Fact]
    public void Collect_FreesAllocationsNotInTheValidSet()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/24"}],[{"subnet":"fd00::/64"}]]}""");
        var ipam = net.NewIpam();
        for (var i = 0; i < 6; i++)
            ipam.Allocate($"c{i}", "eth0", null);

        var report = ipam.Collect(new HashSet<(string, string)> { ("c1", "eth0"), ("c4", "eth0"), ("c4", "net9") });

        Assert.Equal(new GcReport(8, 0), report);
        Assert.Equal(["c1", "c1", "c4", "c4"], net.Claims().Values.Select(o => o.ContainerId).Order());
        Assert.Equal(2, net.IndexFiles());
        Assert.NotNull(ipam.Find("c1", "eth0"));
        Assert.Null(ipam.Find("c0", "eth0"));
        Assert.Equal(new GcReport(0, 0), ipam.Collect(new HashSet<(string, string)> { ("c1", "eth0"), ("c4", "eth0") }));
    }

    [Fact]
    public void Allocate_FoldersRemovedUnderTheLockFile_AreRecreated()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.10.0.0/24"}""");
        var ipam = net.NewIpam();
        ipam.Allocate("c1", "eth0", null);
        ipam.Release("c1", "eth0");
        Directory.Delete(Path.Combine(net.Config.NetworkDirectory, "addresses"));
        Directory.Delete(Path.Combine(net.Config.NetworkDirectory, "attachments"));

        Assert.Single(ipam.Allocate("c2", "eth0", null).Addresses);
        Assert.Single(net.Claims());
    }

    [Fact]
    public void Status_ReportsExhaustedRangeSetAndUnusableDataDir()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/24"}],[{"subnet":"fd00::/126"}]]}""");
        var ipam = net.NewIpam();
        Assert.Equal(new IpamStatus(true, null), ipam.Status());
        ipam.Allocate("c1", "eth0", null);
        ipam.Allocate("c2", "eth0", null);

        Assert.Equal(new IpamStatus(false, "ipam: range set 1 (fd00::1-fd00::3) has no free address"), ipam.Status());

        using var blocked = new IpamTestNetwork("""{"subnet":"10.10.0.0/24"}""");
        File.WriteAllText(blocked.DataDir, "a file where the data folder should be");
        try
        {
            var status = blocked.NewIpam().Status();
            Assert.False(status.Available);
            Assert.StartsWith("ipam: cannot ", status.Problem);
            Assert.Contains(blocked.Config.NetworkDirectory, status.Problem);
        }
        finally
        {
            File.Delete(blocked.DataDir);
        }
    }

    [Fact]
    public void Allocate_ManyThreadsAtOnce_GiveDistinctAddresses()
    {
        using var net = new IpamTestNetwork("""{"ranges":[[{"subnet":"10.10.0.0/24"}],[{"subnet":"fd00::/120"}]]}""");
        var leases = new IpamLease[64];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            i => leases[i] = new PatronusIpam(net.Config).Allocate($"c{i}", "eth0", null));

        Assert.Equal(128, leases.SelectMany(l => l.Addresses).Select(a => a.Address).Distinct().Count());
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i => new PatronusIpam(net.Config).Release($"c{i}", "eth0"));
        Assert.Empty(net.Claims());
        Assert.Equal(0, net.IndexFiles());
    }
}
