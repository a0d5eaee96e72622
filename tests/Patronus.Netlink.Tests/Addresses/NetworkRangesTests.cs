using System.Net;

namespace Patronus.Netlink.Tests.Addresses;

public sealed class NetworkRangesTests
{
    /// <summary>Every network inside 10.0.0.0/27 (prefix lengths 27 to 32), with its addresses.</summary>
    private static List<(IPNetwork Network, HashSet<uint> Addresses)> SmallNetworks()
    {
        var networks = new List<(IPNetwork, HashSet<uint>)>();
        for (var length = 27; length <= 32; length++)
        {
            var size = 1u << (32 - length);
            for (uint start = 0; start < 32; start += size)
            {
                var addresses = Enumerable.Range(0, (int)size).Select(i => start + (uint)i).ToHashSet();
                networks.Add((new IPNetwork(IPAddress.Parse($"10.0.0.{start}"), length), addresses));
            }
        }
        return networks;
    }

    [Fact]
    public void Overlaps_AndWithin_AgreeWithTheAddressesOfEveryPairOfSmallNetworks()
    {
        var networks = SmallNetworks();
        Assert.Equal(63, networks.Count);
        foreach (var (a, aAddresses) in networks)
        {
            foreach (var (b, bAddresses) in networks)
            {
                Assert.Equal(aAddresses.Overlaps(bAddresses), NetworkRanges.Overlaps(a, b));
                Assert.Equal(aAddresses.IsSubsetOf(bAddresses), NetworkRanges.Within(a, b));
            }
        }
    }

    [Theory]
    [InlineData("10.244.0.0/16", "10.244.3.0/24", true)]
    [InlineData("10.244.0.0/16", "10.245.0.0/16", false)]
    [InlineData("0.0.0.0/0", "192.168.1.0/24", true)]
    [InlineData("fd00::/8", "fd00:10:244::/64", true)]
    [InlineData("fd00:1::/32", "fd00:2::/32", false)]
    [InlineData("10.0.0.0/8", "::/0", false)] // families never overlap
    [InlineData("::ffff:10.0.0.0/104", "10.0.0.0/8", false)] // an IPv4-mapped IPv6 range is IPv6
    public void Overlaps_IsSymmetric(string a, string b, bool expected)
    {
        Assert.Equal(expected, NetworkRanges.Overlaps(IPNetwork.Parse(a), IPNetwork.Parse(b)));
        Assert.Equal(expected, NetworkRanges.Overlaps(IPNetwork.Parse(b), IPNetwork.Parse(a)));
    }

    [Theory]
    [InlineData("10.244.0.0/16", true)]
    [InlineData("fd00:10:244::/64", true)]
    [InlineData("10.244.0.1/16", false)] // host bits: a mistake to report, not to clear
    [InlineData("fd00::1/64", false)]
    [InlineData("10.244.0.0", false)]
    [InlineData("10.244.0.0/33", false)]
    [InlineData("ten/8", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void TryParseNetwork_AcceptsOnlyCidrWithoutHostBits(string? text, bool valid)
    {
        Assert.Equal(valid, NetworkRanges.TryParseNetwork(text, out var network));
        if (valid)
            Assert.Equal(text, network.ToString());
    }
}
