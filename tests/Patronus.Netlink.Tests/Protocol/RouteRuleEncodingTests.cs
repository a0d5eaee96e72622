using System.Net;
using System.Net.Sockets;
using Patronus.Netlink.Protocol;
using Patronus.Netlink.Routes;
using Patronus.Netlink.Rules;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>
/// Routes with the flags and metrics inter-node and mesh routing need, and policy routing rules. Rule vectors
/// are what iproute2 sent for the command quoted (strace -e sendmsg -xx), sequence number aside.
/// </summary>
public sealed class RouteRuleEncodingTests
{
    [Fact]
    public void ReplaceRoute_OnLinkGatewayProtocolTableAndMetrics()
    {
        // `ip route replace 10.244.9.0/24 via 192.168.7.1 dev u0 onlink proto 77 table 1000 mtu 1450 advmss 1410`
        // (u0 = index 3) sends the same header (onlink in rtm_flags, table only in RTA_TABLE) and the same
        // attributes, RTA_TABLE before RTA_OIF; the total length is the same 80 bytes.
        var expected = """
            50000000 1800 0505 01000000 00000000
            02 18 00 00 00 4d 00 01 04000000
            0800 0100 0af40900
            0800 0500 c0a80701
            0800 0400 03000000
            0800 0f00 e8030000
            1400 0800 | 0800 0200 aa050000 | 0800 0800 82050000
            """;

        var route = new Route
        {
            Destination = IpPrefix.Parse("10.244.9.0/24"), Gateway = IPAddress.Parse("192.168.7.1"), LinkIndex = 3, OnLink = true,
            Protocol = RouteProtocol.Patronus, Table = 1000, Mtu = 1450, AdvertisedMss = 1410,
        };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Replace, 1, route)));
    }

    [Fact]
    public void ReplaceRoute_OnDeviceWithoutGateway_LinkScopeAndMtu()
    {
        // `ip route replace 10.244.8.0/24 dev vx0 proto 77 mtu 1450` sends this without the RTA_TABLE for main.
        var expected = """
            40000000 1800 0505 02000000 00000000
            02 18 00 00 fe 4d fd 01 00000000
            0800 0100 0af40800
            0800 0400 04000000
            0800 0f00 fe000000
            0c00 0800 | 0800 0200 aa050000
            """;

        var route = new Route { Destination = IpPrefix.Parse("10.244.8.0/24"), LinkIndex = 4, Protocol = RouteProtocol.Patronus, Mtu = 1450 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Replace, 2, route)));
    }

    [Fact]
    public void DeleteRoute_LeavesMetricsOut()
    {
        var expected = """
            34000000 1900 0500 03000000 00000000
            02 18 00 00 00 4d ff 00 00000000
            0800 0100 0af40800
            0800 0400 04000000
            0800 0f00 e8030000
            """;

        var route = new Route { Destination = IpPrefix.Parse("10.244.8.0/24"), LinkIndex = 4, Protocol = RouteProtocol.Patronus, Table = 1000, Mtu = 1450 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.DeleteRoute, RequestFlags.Change, 3, route)));
    }

    public static TheoryData<string, string?, bool, int, int?, int?> Routes => new()
    {
        { "10.244.9.0/24", "192.168.7.1", true, 1000, 1450, 1410 },
        { "10.244.8.0/24", null, false, 254, 1450, null },
        { "fd00:9::/64", "fe80::1", false, 100, null, 1380 },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void Route_WithFlagsAndMetrics_ParsesBackToTheSameRoute(string destination, string? gateway, bool onLink, int table, int? mtu, int? mss)
    {
        var route = new Route
        {
            Destination = IpPrefix.Parse(destination), Gateway = gateway is null ? null : IPAddress.Parse(gateway), LinkIndex = 3,
            OnLink = onLink, Table = table, Mtu = mtu, AdvertisedMss = mss, Protocol = RouteProtocol.Patronus,
            Scope = gateway is null ? RouteScope.Link : RouteScope.Universe,
        };
        var bytes = Hex(Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Replace, 1, route)));

        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        Assert.Equal(route, RouteMessages.Parse(message));
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork, "02")]
    [InlineData(AddressFamily.InterNetworkV6, "0a")]
    public void AddRule_FwmarkMaskToTable_SameBytesAsIpRuleAdd(AddressFamily family, string familyByte)
    {
        // ip [-6] rule add fwmark 0x100/0xff00 table 1000 priority 100
        var expected = $"""
            3c000000 2000 0506 04000000 00000000
            {familyByte} 00 00 00 00 00 00 01 00000000
            0800 0a00 00010000
            0800 1000 00ff0000
            0800 0f00 e8030000
            0800 0600 64000000
            """;

        var rule = new RoutingRule { Family = family, Mark = 0x100, Mask = 0xff00, Table = 1000, Priority = 100 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RuleMessages.Write(ref w, RouteMessageType.NewRule, RequestFlags.Create, 4, rule)));
    }

    [Fact]
    public void AddRule_WithProtocol_SameBytesAsIpRuleAdd()
    {
        // ip rule add fwmark 0x200/0xff00 table 1001 priority 101 protocol 77
        var expected = """
            44000000 2000 0506 05000000 00000000
            02 00 00 00 00 00 00 01 00000000
            0800 0a00 00020000
            0800 1000 00ff0000
            0800 0f00 e9030000
            0800 0600 65000000
            0500 1500 4d 000000
            """;

        var rule = new RoutingRule
        {
            Family = AddressFamily.InterNetwork, Mark = 0x200, Mask = 0xff00, Table = 1001, Priority = 101, Protocol = RouteProtocol.Patronus,
        };
        Assert.Equal(Normalize(expected), Encode((ref w) => RuleMessages.Write(ref w, RouteMessageType.NewRule, RequestFlags.Create, 5, rule)));
    }

    [Fact]
    public void DeleteRule_ActionUnspecified_SameBytesAsIpRuleDel()
    {
        // ip rule del fwmark 0x100/0xff00 table 1000 priority 100
        var expected = """
            3c000000 2100 0500 06000000 00000000
            02 00 00 00 00 00 00 00 00000000
            0800 0a00 00010000
            0800 1000 00ff0000
            0800 0f00 e8030000
            0800 0600 64000000
            """;

        var rule = new RoutingRule { Family = AddressFamily.InterNetwork, Mark = 0x100, Mask = 0xff00, Table = 1000, Priority = 100 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RuleMessages.Write(ref w, RouteMessageType.DeleteRule, RequestFlags.Change, 6, rule)));
    }

    [Fact]
    public void DumpRules_SameBytesAsIpRuleShow()
    {
        var expected = """
            1c000000 2200 0103 07000000 00000000
            02 00 00 00 00 00 00 00 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => RuleMessages.Dump(ref w, 7, Family.Inet)));
    }

    [Fact]
    public void AddRule_SourceAndMainTable_TableOnlyInTheHeader_ParsesBack()
    {
        var expected = """
            2c000000 2000 0506 08000000 00000000
            02 00 10 00 fe 00 00 01 00000000
            0800 0200 0af40000
            0800 0600 c8000000
            """;

        var rule = new RoutingRule { Family = AddressFamily.InterNetwork, Source = IpPrefix.Parse("10.244.0.0/16"), Priority = 200 };
        var encoded = Encode((ref w) => RuleMessages.Write(ref w, RouteMessageType.NewRule, RequestFlags.Create, 8, rule));
        Assert.Equal(Normalize(expected), encoded);

        var reader = new NetlinkMessageReader(Hex(encoded));
        Assert.True(reader.TryRead(out var message));
        Assert.Equal(rule, RuleMessages.Parse(message));
    }
}
