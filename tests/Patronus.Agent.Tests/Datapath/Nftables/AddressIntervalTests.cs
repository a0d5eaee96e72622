using System.Net;
using Patronus.Agent.Datapath.Nftables;

namespace Patronus.Agent.Tests.Datapath.Nftables;

public sealed class AddressIntervalTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "", "10.0.0.0-10.255.255.255")]
    [InlineData("10.0.0.7/32", "", "10.0.0.7")]
    [InlineData("10.0.0.0/24", "10.0.0.0/25", "10.0.0.128-10.0.0.255")]
    [InlineData("10.0.0.0/24", "10.0.0.128/25", "10.0.0.0-10.0.0.127")]
    [InlineData("10.0.0.0/24", "10.0.0.16/28", "10.0.0.0-10.0.0.15 10.0.0.32-10.0.0.255")]
    [InlineData("10.0.0.0/24", "10.0.0.16/28 10.0.0.64/26", "10.0.0.0-10.0.0.15 10.0.0.32-10.0.0.63 10.0.0.128-10.0.0.255")]
    [InlineData("10.0.0.0/24", "10.0.0.0/24", "")]
    [InlineData("10.0.0.0/24", "10.0.0.0/16", "")]
    [InlineData("10.0.0.0/24", "192.168.0.0/16", "10.0.0.0-10.0.0.255")]
    [InlineData("10.0.0.0/24", "fd00::/8", "10.0.0.0-10.0.0.255")]
    [InlineData("0.0.0.0/0", "10.0.0.0/8", "0.0.0.0-9.255.255.255 11.0.0.0-255.255.255.255")]
    [InlineData("10.0.0.5/24", "", "10.0.0.0-10.0.0.255")]
    [InlineData("fd00::/64", "fd00::/65", "fd00::8000:0:0:0-fd00::ffff:ffff:ffff:ffff")]
    [InlineData("::/0", "", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    [InlineData("fd00::1/128", "", "fd00::1")]
    public void Subtract_CidrMinusExcepts_DisjointIntervals(string cidr, string excepts, string expected)
    {
        var except = excepts.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(IPNetwork.Parse);
        var result = AddressInterval.Subtract(IPNetwork.Parse(cidr), except);
        Assert.Equal(expected, string.Join(" ", result));
    }

    [Theory]
    [InlineData("10.0.0.0/25 10.0.0.128/25", "10.0.0.0-10.0.0.255")]
    [InlineData("10.0.0.0/24 10.0.0.5/32", "10.0.0.0-10.0.0.255")]
    [InlineData("10.0.1.0/24 10.0.0.0/24", "10.0.0.0-10.0.1.255")]
    [InlineData("10.0.2.0/24 10.0.0.0/24", "10.0.0.0-10.0.0.255 10.0.2.0-10.0.2.255")]
    [InlineData("0.0.0.0/0 10.0.0.0/8", "0.0.0.0-255.255.255.255")]
    [InlineData("::/0 fd00::/8", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    [InlineData("", "")]
    public void Union_MergesOverlappingAndAdjacent(string cidrs, string expected)
    {
        var intervals = cidrs.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => AddressInterval.Of(IPNetwork.Parse(c)));
        Assert.Equal(expected, string.Join(" ", AddressInterval.Union(intervals)));
    }
}
