using System.Net;
using System.Text.Json;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Ipam;

public class IpamConfigTests
{
    private static IpamConfig Parse(string json, string network = "net1")
    {
        using var document = JsonDocument.Parse(json);
        return IpamConfig.Parse(document.RootElement.Clone(), network);
    }

    private static string Describe(IpamConfig config) =>
        string.Join(" | ", config.RangeSets.Select(set => string.Join(", ",
            set.Ranges.Select(r => $"{r.Subnet} {r.RangeStart}-{r.RangeEnd} gw {r.Gateway}"))));

    [Theory]
    [InlineData("""{"subnet":"10.1.0.0/24"}""", "10.1.0.0/24 10.1.0.1-10.1.0.254 gw 10.1.0.1")]
    [InlineData("""{"subnet":"10.1.0.0/30"}""", "10.1.0.0/30 10.1.0.1-10.1.0.2 gw 10.1.0.1")]
    [InlineData("""{"subnet":"10.1.0.0/16","rangeStart":"10.1.1.10","rangeEnd":"10.1.1.20","gateway":"10.1.0.254"}""",
        "10.1.0.0/16 10.1.1.10-10.1.1.20 gw 10.1.0.254")]
    [InlineData("""{"subnet":"fd00::/64"}""", "fd00::/64 fd00::1-fd00::ffff:ffff:ffff:ffff gw fd00::1")]
    [InlineData("""{"subnet":"fd00::/126"}""", "fd00::/126 fd00::1-fd00::3 gw fd00::1")]
    [InlineData("""{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00:1::/64","gateway":"fd00:1::fe"}]]}""",
        "10.1.0.0/24 10.1.0.1-10.1.0.254 gw 10.1.0.1 | fd00:1::/64 fd00:1::1-fd00:1::ffff:ffff:ffff:ffff gw fd00:1::fe")]
    [InlineData("""{"ranges":[[{"subnet":"10.1.0.0/24"},{"subnet":"10.2.0.0/24","rangeStart":"10.2.0.100"}]]}""",
        "10.1.0.0/24 10.1.0.1-10.1.0.254 gw 10.1.0.1, 10.2.0.0/24 10.2.0.100-10.2.0.254 gw 10.2.0.1")]
    [InlineData("""{"ranges":[[{"subnet":"10.1.0.0/24","rangeEnd":"10.1.0.127"},{"subnet":"10.1.0.0/24","rangeStart":"10.1.0.128"}]]}""",
        "10.1.0.0/24 10.1.0.1-10.1.0.127 gw 10.1.0.1, 10.1.0.0/24 10.1.0.128-10.1.0.254 gw 10.1.0.1")]
    // host-local: the shorthand range is prepended to ranges as a set of its own.
    [InlineData("""{"subnet":"10.1.0.0/24","ranges":[[{"subnet":"fd00::/120"}]]}""",
        "10.1.0.0/24 10.1.0.1-10.1.0.254 gw 10.1.0.1 | fd00::/120 fd00::1-fd00::ff gw fd00::1")]
    [InlineData("""{"type":"patronus-ipam","subnet":null,"ranges":[[{"subnet":"192.168.5.0/24","rangeStart":"192.168.5.1","rangeEnd":"192.168.5.1","gateway":"192.168.5.254"}]]}""",
        "192.168.5.0/24 192.168.5.1-192.168.5.1 gw 192.168.5.254")]
    public void Parse_ValidConfig_CanonicalRanges(string json, string expected) =>
        Assert.Equal(expected, Describe(Parse(json)));

    [Fact]
    public void Parse_RoutesAndDataDir_AreKept()
    {
        var config = Parse("""
            {"subnet":"10.1.0.0/24","dataDir":"/tmp/x","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.9.0.0/16","gw":"10.1.0.254"},{"dst":"::/0","gw":"fd00::1"}]}
            """, "podnet");
        Assert.Equal("/tmp/x", config.DataDir);
        Assert.Equal("/tmp/x/podnet", config.NetworkDirectory);
        Assert.Equal(
            [new IpamRoute(IPNetwork.Parse("0.0.0.0/0"), null), new IpamRoute(IPNetwork.Parse("10.9.0.0/16"), IPAddress.Parse("10.1.0.254")),
             new IpamRoute(IPNetwork.Parse("::/0"), IPAddress.Parse("fd00::1"))],
            config.Routes);
    }

    [Fact]
    public void Parse_NoDataDir_UsesPatronusDefault() =>
        Assert.Equal("/var/lib/patronus/ipam/n", Parse("""{"subnet":"10.1.0.0/24"}""", "n").NetworkDirectory);

    [Theory]
    // CIDRs
    [InlineData("""{"subnet":"10.0.0.0/33"}""", "ipam.subnet: \"10.0.0.0/33\" is not a valid CIDR")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/33"}]]}""", "ipam.ranges[0][0].subnet: \"10.0.0.0/33\" is not a valid CIDR")]
    [InlineData("""{"subnet":"10.0.0.0"}""", "ipam.subnet: \"10.0.0.0\" is not a valid CIDR")]
    [InlineData("""{"subnet":"10.0/16"}""", "ipam.subnet: \"10.0/16\" is not a valid CIDR")]
    [InlineData("""{"subnet":"010.0.0.0/8"}""", "ipam.subnet: \"010.0.0.0/8\" is not a valid CIDR")]
    [InlineData("""{"subnet":"10.0.0.0/024"}""", "ipam.subnet: \"10.0.0.0/024\" is not a valid CIDR")]
    [InlineData("""{"subnet":"fe80::%eth0/64"}""", "ipam.subnet: \"fe80::%eth0/64\" is not a valid CIDR")]
    [InlineData("""{"subnet":"::ffff:10.0.0.0/120"}""", "ipam.subnet: \"::ffff:10.0.0.0/120\" is not a valid CIDR")]
    [InlineData("""{"subnet":"fd00::/129"}""", "ipam.subnet: \"fd00::/129\" is not a valid CIDR")]
    [InlineData("""{"subnet":"10.0.0.5/24"}""", "ipam.subnet: \"10.0.0.5/24\" has host bits set; the network is 10.0.0.0/24")]
    [InlineData("""{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::1/64"}]]}""", "ipam.ranges[1][0].subnet: \"fd00::1/64\" has host bits set; the network is fd00::/64")]
    // Too small: v4 /31 /32, v6 /127 /128 (host-local's rule)
    [InlineData("""{"subnet":"10.0.0.0/31"}""", "ipam.subnet: \"10.0.0.0/31\" is too small to allocate from (the longest prefix is /30)")]
    [InlineData("""{"subnet":"10.0.0.1/32"}""", "ipam.subnet: \"10.0.0.1/32\" is too small to allocate from (the longest prefix is /30)")]
    [InlineData("""{"subnet":"fd00::/127"}""", "ipam.subnet: \"fd00::/127\" is too small to allocate from (the longest prefix is /126)")]
    [InlineData("""{"subnet":"fd00::/128"}""", "ipam.subnet: \"fd00::/128\" is too small to allocate from (the longest prefix is /126)")]
    // Addresses inside the subnet
    [InlineData("""{"subnet":"10.0.0.0/24","gateway":"10.0.1.1"}""", "ipam.gateway: 10.0.1.1 is not inside subnet 10.0.0.0/24")]
    [InlineData("""{"subnet":"10.0.0.0/24","gateway":"10.0.0.0"}""", "ipam.gateway: 10.0.0.0 is the network address of subnet 10.0.0.0/24")]
    [InlineData("""{"subnet":"10.0.0.0/24","gateway":"10.0.0.255"}""", "ipam.gateway: 10.0.0.255 is the broadcast address of subnet 10.0.0.0/24")]
    [InlineData("""{"subnet":"10.0.0.0/24","gateway":"fd00::1"}""", "ipam.gateway: fd00::1 is not of the same address family as subnet 10.0.0.0/24")]
    [InlineData("""{"subnet":"10.0.0.0/24","gateway":"10.0.0.300"}""", "ipam.gateway: \"10.0.0.300\" is not a valid IP address")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.1.5"}]]}""", "ipam.ranges[0][0].rangeStart: 10.0.1.5 is not inside subnet 10.0.0.0/24")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24","rangeEnd":"10.0.0.255"}]]}""", "ipam.ranges[0][0].rangeEnd: 10.0.0.255 is the broadcast address of subnet 10.0.0.0/24")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.0"}]]}""", "ipam.ranges[0][0].rangeStart: 10.0.0.0 is the network address of subnet 10.0.0.0/24")]
    [InlineData("""{"ranges":[[{"subnet":"fd00::/64","rangeStart":"fd01::1"}]]}""", "ipam.ranges[0][0].rangeStart: fd01::1 is not inside subnet fd00::/64")]
    [InlineData("""{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.9","rangeEnd":"10.0.0.5"}""", "ipam.rangeEnd: 10.0.0.5 comes before rangeStart 10.0.0.9")]
    [InlineData("""{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.1","rangeEnd":"10.0.0.1"}""", "ipam: has no address to allocate: its only address 10.0.0.1 is the gateway")]
    // Overlaps and families
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"10.0.0.0/25"}]]}""", "ipam.ranges[0][1]: overlaps ipam.ranges[0][0]")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.0/16"}]]}""", "ipam.ranges[1][0]: overlaps ipam.ranges[0][0] (range sets must not overlap)")]
    [InlineData("""{"subnet":"10.0.0.0/24","ranges":[[{"subnet":"10.0.0.128/25"}]]}""", "ipam.ranges[0][0]: overlaps ipam (range sets must not overlap)")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"fd00::/64"}]]}""", "ipam.ranges[0][1].subnet: mixes address families within a range set (ipam.ranges[0][0] is IPv4)")]
    // Missing things
    [InlineData("""{}""", "ipam.ranges: no address range is configured (set ipam.subnet or ipam.ranges)")]
    [InlineData("""{"ranges":[]}""", "ipam.ranges: no address range is configured (set ipam.subnet or ipam.ranges)")]
    [InlineData("""{"ranges":[[]]}""", "ipam.ranges[0]: is an empty range set")]
    [InlineData("""{"ranges":[[{"rangeStart":"10.0.0.1"}]]}""", "ipam.ranges[0][0].subnet: is missing (every range needs a subnet)")]
    [InlineData("""{"rangeStart":"10.0.0.1"}""", "ipam.rangeStart: is set but ipam.subnet is missing (the shorthand range needs its subnet)")]
    // Routes and dataDir
    [InlineData("""{"subnet":"10.0.0.0/24","routes":[{"dst":"10.9.0.0/33"}]}""", "ipam.routes[0].dst: \"10.9.0.0/33\" is not a valid CIDR")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":[{"gw":"10.0.0.1"}]}""", "ipam.routes[0].dst: is missing")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.9.0.1/16"}]}""", "ipam.routes[1].dst: \"10.9.0.1/16\" has host bits set")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0","gw":"fd00::1"}]}""", "ipam.routes[0].gw: fd00::1 is not of the same address family as dst 0.0.0.0/0")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0","gw":"bogus"}]}""", "ipam.routes[0].gw: \"bogus\" is not a valid IP address")]
    [InlineData("""{"subnet":"10.0.0.0/24","dataDir":"relative/dir"}""", "ipam.dataDir: \"relative/dir\" is not an absolute path")]
    public void Parse_InvalidConfig_NamesTheField(string json, string message)
    {
        var error = Assert.Throws<CniException>(() => Parse(json));
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, error.Code);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("""[]""", "ipam: expected an object, found array")]
    [InlineData("""{"subnet":24}""", "ipam.subnet: expected a string, found number")]
    [InlineData("""{"ranges":{}}""", "ipam.ranges: expected an array of range sets, found object")]
    [InlineData("""{"ranges":[{"subnet":"10.0.0.0/24"}]}""", "ipam.ranges[0]: expected an array of ranges, found object")]
    [InlineData("""{"ranges":[["10.0.0.0/24"]]}""", "ipam.ranges[0][0]: expected an object, found string")]
    [InlineData("""{"ranges":[[{"subnet":"10.0.0.0/24","gateway":true}]]}""", "ipam.ranges[0][0].gateway: expected a string, found true")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":{"dst":"0.0.0.0/0"}}""", "ipam.routes: expected an array of {dst, gw}, found object")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":["0.0.0.0/0"]}""", "ipam.routes[0]: expected an object, found string")]
    [InlineData("""{"subnet":"10.0.0.0/24","routes":[{"dst":["0.0.0.0/0"]}]}""", "ipam.routes[0].dst: expected a string, found array")]
    [InlineData("""{"subnet":"10.0.0.0/24","dataDir":7}""", "ipam.dataDir: expected a string, found number")]
    public void Parse_WrongJsonType_IsDecodeFailureNamingTheField(string json, string message)
    {
        var error = Assert.Throws<CniException>(() => Parse(json));
        Assert.Equal(CniErrorCode.DecodeFailure, error.Code);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("net 1")]
    public void Parse_NetworkNameNotOnePathComponent_IsRejected(string name)
    {
        var error = Assert.Throws<CniException>(() => Parse("""{"subnet":"10.0.0.0/24"}""", name));
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, error.Code);
        Assert.StartsWith("name: ", error.Message);
    }

    [Theory]
    [InlineData(5, 0, "ipam.ranges: 5 range sets, 5 of them IPv4; a network has at most 4 per address family")]
    [InlineData(4, 5, "ipam.ranges: 9 range sets; a network has at most 4 per address family")]
    public void Parse_MoreRangeSetsThanAFamilyNeeds_IsCode7(int ipv4Sets, int ipv6Sets, string message)
    {
        var sets = Enumerable.Range(0, ipv4Sets).Select(i => $"[{{\"subnet\":\"10.{i}.0.0/24\"}}]")
            .Concat(Enumerable.Range(0, ipv6Sets).Select(i => $"[{{\"subnet\":\"fd00:{i}::/64\"}}]"));
        var json = $"{{\"ranges\":[{string.Join(",", sets)}]}}";
        var error = Assert.Throws<CniException>(() => Parse(json));
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, error.Code);
        Assert.Contains(message, error.Message);

        using var document = JsonDocument.Parse(json);
        Assert.Equal(ipv4Sets + ipv6Sets, IpamConfig.Parse(document.RootElement.Clone(), "net1", forRemoval: true).RangeSets.Count);
    }

    [Fact]
    public void Parse_FourSetsOfEachFamily_IsAccepted()
    {
        var sets = Enumerable.Range(0, 4).Select(i => $"[{{\"subnet\":\"10.{i}.0.0/24\"}}],[{{\"subnet\":\"fd00:{i}::/64\"}}]");
        Assert.Equal(8, Parse($"{{\"ranges\":[{string.Join(",", sets)}]}}").RangeSets.Count);
    }
}
