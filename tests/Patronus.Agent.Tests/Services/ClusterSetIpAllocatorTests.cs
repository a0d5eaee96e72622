using System.Net;
using Patronus.Agent.Services.ClusterSetIp;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Tests.Services;

public sealed class ClusterSetIpAllocatorTests
{
    private static readonly ServiceKey Web = new("shop", "web");
    private static readonly Dictionary<ServiceKey, IReadOnlyList<IPAddress>> Nothing = new();

    [Fact]
    public void Allocate_GivesOneVipPerFamily_InTheRanges_InFamilyOrder()
    {
        var allocator = ClusterSetIpAllocator.Parse("10.112.0.0/16, fd00:112::/112");

        var ips = allocator.Allocate(Web, [IpFamily.IPv6, IpFamily.IPv4], Nothing);

        Assert.Equal(2, ips.Count);
        Assert.True(IPNetwork.Parse("fd00:112::/112").Contains(ips[0]));
        Assert.True(IPNetwork.Parse("10.112.0.0/16").Contains(ips[1]));
    }

    [Fact]
    public void Allocate_IsTheSameForTheSameService_AndDiffersBetweenServices()
    {
        var allocator = ClusterSetIpAllocator.Parse("10.112.0.0/16");
        var first = allocator.Allocate(Web, [IpFamily.IPv4], Nothing);

        Assert.Equal(first, ClusterSetIpAllocator.Parse("10.112.0.0/16").Allocate(Web, [IpFamily.IPv4], Nothing));
        Assert.NotEqual(first, allocator.Allocate(new ServiceKey("shop", "db"), [IpFamily.IPv4], Nothing));
    }

    [Fact]
    public void Allocate_KeepsWhatTheServiceAlreadyHolds_EvenWhenItsHashPointsElsewhere()
    {
        var allocator = ClusterSetIpAllocator.Parse("10.112.0.0/24");
        var held = IPAddress.Parse("10.112.0.77");
        var preferred = allocator.Allocate(Web, [IpFamily.IPv4], Nothing)[0];
        Assert.NotEqual(held, preferred);

        Assert.Equal([held], allocator.Allocate(Web, [IpFamily.IPv4], new Dictionary<ServiceKey, IReadOnlyList<IPAddress>> { [Web] = [held] }));
    }

    [Fact]
    public void Allocate_AvoidsOtherServicesVips_AndReleasedOnesComeBack()
    {
        var allocator = ClusterSetIpAllocator.Parse("10.112.0.0/24");
        var preferred = allocator.Allocate(Web, [IpFamily.IPv4], Nothing)[0];
        var db = new ServiceKey("shop", "db");
        var taken = new Dictionary<ServiceKey, IReadOnlyList<IPAddress>> { [db] = [preferred] };

        var other = allocator.Allocate(Web, [IpFamily.IPv4], taken)[0];
        Assert.NotEqual(preferred, other);
        // A service that somehow holds another's VIP gives it up rather than share it.
        Assert.Equal([other], allocator.Allocate(Web, [IpFamily.IPv4], new Dictionary<ServiceKey, IReadOnlyList<IPAddress>> { [db] = [preferred], [Web] = [preferred] }));
        Assert.Equal([preferred], allocator.Allocate(Web, [IpFamily.IPv4], Nothing));
    }

    [Fact]
    public void Allocate_NeverGivesTheNetworkOrBroadcastAddress_AndSaysWhenTheRangeIsFull()
    {
        var allocator = ClusterSetIpAllocator.Parse("10.112.0.0/30");
        var given = new Dictionary<ServiceKey, IReadOnlyList<IPAddress>>();
        for (var i = 0; i < 2; i++)
        {
            var key = new ServiceKey("ns", $"s{i}");
            given[key] = allocator.Allocate(key, [IpFamily.IPv4], given);
        }
        Assert.Equal(["10.112.0.1", "10.112.0.2"], given.Values.SelectMany(v => v).Select(ip => ip.ToString()).Order());
        var full = Assert.Throws<ClusterSetIpRangeException>(() => allocator.Allocate(new ServiceKey("ns", "s2"), [IpFamily.IPv4], given));
        Assert.Contains("range 10.112.0.0/30 has no free address left for ns/s2", full.Message);
    }

    [Fact]
    public void Allocate_LeavesOutAFamilyWithoutARange()
    {
        Assert.Single(ClusterSetIpAllocator.Parse("10.112.0.0/16").Allocate(Web, [IpFamily.IPv4, IpFamily.IPv6], Nothing));
    }

    [Fact]
    public void Allocate_ManyServices_AllDistinct()
    {
        var allocator = ClusterSetIpAllocator.Parse("10.112.0.0/24,fd00:112::/120");
        var given = new Dictionary<ServiceKey, IReadOnlyList<IPAddress>>();
        for (var i = 0; i < 254; i++)
        {
            var key = new ServiceKey("ns", $"s{i}");
            given[key] = allocator.Allocate(key, [IpFamily.IPv4, IpFamily.IPv6], given);
        }
        Assert.Equal(254 * 2, given.Values.SelectMany(v => v).Distinct().Count());
    }

    [Theory]
    [InlineData("", "no range given")]
    [InlineData("10.112.0.0", "'10.112.0.0' is not a CIDR")]
    [InlineData("10.112.0.0/16,10.113.0.0/16", "more than one range")]
    [InlineData("10.112.0.0/31", "from /8 to /30")]
    [InlineData("fd00::/127", "from /8 to /126")]
    public void Parse_RefusesBadRanges_NamingTheOption(string value, string expected)
    {
        var error = Assert.Throws<ClusterSetIpRangeException>(() => ClusterSetIpAllocator.Parse(value));
        Assert.StartsWith("option 'clusterSetIpRanges'", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
