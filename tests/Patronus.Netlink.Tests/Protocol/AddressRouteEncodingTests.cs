using System.Net;
using Patronus.Netlink.Addresses;
using Patronus.Netlink.Protocol;
using Patronus.Netlink.Routes;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>RTM_NEWADDR and RTM_NEWROUTE, derived by hand from linux/if_addr.h and rtnetlink.h.</summary>
public sealed class AddressRouteEncodingTests
{
    [Fact]
    public void NewAddress_IPv4_HasLocalAddressAndBroadcast()
    {
        var expected = """
            30000000 1400 0506 03000000 00000000
            02 18 00 00 03000000
            0800 0200 0a010005
            0800 0100 0a010005
            0800 0400 0a0100ff
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => AddressMessages.Write(
            ref w, RouteMessageType.NewAddress, RequestFlags.Create, 3, 3, IpPrefix.Parse("10.1.0.5/24"), AddressFlags.None)));
    }

    [Fact]
    public void NewAddress_IPv6_NoDadInTheHeaderByte()
    {
        var expected = """
            40000000 1400 0506 04000000 00000000
            0a 40 02 00 03000000
            1400 0200 fd000000000000000000000000000005
            1400 0100 fd000000000000000000000000000005
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => AddressMessages.Write(
            ref w, RouteMessageType.NewAddress, RequestFlags.Create, 4, 3, IpPrefix.Parse("fd00::5/64"), AddressFlags.NoDad)));
    }

    [Fact]
    public void ReplaceAddress_FlagsAbove8Bits_AddIfaFlags()
    {
        var expected = """
            48000000 1400 0505 05000000 00000000
            0a 40 02 00 03000000
            1400 0200 fd000000000000000000000000000005
            1400 0100 fd000000000000000000000000000005
            0800 0800 02020000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => AddressMessages.Write(
            ref w, RouteMessageType.NewAddress, RequestFlags.Replace, 5, 3, IpPrefix.Parse("fd00::5/64"), AddressFlags.NoDad | AddressFlags.NoPrefixRoute)));
    }

    [Fact]
    public void NewRoute_DefaultViaGateway()
    {
        var expected = """
            34000000 1800 0506 05000000 00000000
            02 00 00 00 fe 03 00 01 00000000
            0800 0500 0a010001
            0800 0400 03000000
            0800 0f00 fe000000
            """;

        var route = new Route { Destination = IpPrefix.DefaultIPv4, Gateway = IPAddress.Parse("10.1.0.1"), LinkIndex = 3 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Create, 5, route)));
    }

    [Fact]
    public void NewRoute_IPv6WithDestinationAndMetric()
    {
        var expected = """
            54000000 1800 0506 06000000 00000000
            0a 40 00 00 fe 03 00 01 00000000
            1400 0100 fd010000000000000000000000000000
            1400 0500 fd000000000000000000000000000001
            0800 0600 64000000
            0800 0f00 fe000000
            """;

        var route = new Route { Destination = IpPrefix.Parse("fd01::/64"), Gateway = IPAddress.Parse("fd00::1"), Metric = 100 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Create, 6, route)));
    }

    [Fact]
    public void DeleteRoute_WithoutGateway_MatchesAnyScopeAndClearsHostBits()
    {
        var expected = """
            34000000 1900 0500 07000000 00000000
            02 10 00 00 fe 00 ff 00 00000000
            0800 0100 0a630000
            0800 0400 03000000
            0800 0f00 fe000000
            """;

        var route = new Route { Destination = IpPrefix.Parse("10.99.1.2/16"), LinkIndex = 3 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.DeleteRoute, RequestFlags.Change, 7, route)));
    }

    [Fact]
    public void NewRoute_TableAbove255_OnlyInRtaTable()
    {
        var expected = """
            2c000000 1800 0506 08000000 00000000
            02 00 00 00 00 03 00 01 00000000
            0800 0500 0a010001
            0800 0f00 e8030000
            """;

        var route = new Route { Destination = IpPrefix.DefaultIPv4, Gateway = IPAddress.Parse("10.1.0.1"), Table = 1000 };
        Assert.Equal(Normalize(expected), Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Create, 8, route)));
    }

    public static TheoryData<string, string?, int, int?> Routes => new()
    {
        { "0.0.0.0/0", "10.1.0.1", 3, null },
        { "10.99.0.0/16", null, 4, 50 },
        { "::/0", "fd00::1", 2, 1024 },
        { "fd01::/64", null, 7, null },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void NewRoute_ParsesBackToTheSameRoute(string destination, string? gateway, int link, int? metric)
    {
        var route = new Route
        {
            Destination = IpPrefix.Parse(destination),
            Gateway = gateway is null ? null : IPAddress.Parse(gateway),
            LinkIndex = link,
            Metric = metric,
            Scope = gateway is null ? RouteScope.Link : RouteScope.Universe,
        };
        var bytes = Hex(Encode((ref w) => RouteMessages.Write(ref w, RouteMessageType.NewRoute, RequestFlags.Create, 1, route)));

        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        Assert.Equal(route, RouteMessages.Parse(message));
    }

    [Theory]
    [InlineData("10.1.0.5/24", AddressFlags.None)]
    [InlineData("fd00::5/64", AddressFlags.NoDad)]
    [InlineData("fd00::6/128", AddressFlags.NoDad | AddressFlags.NoPrefixRoute)]
    public void NewAddress_ParsesBackToTheSameAddress(string address, AddressFlags flags)
    {
        var bytes = Hex(Encode((ref w) => AddressMessages.Write(
            ref w, RouteMessageType.NewAddress, RequestFlags.Create, 1, 9, IpPrefix.Parse(address), flags)));

        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        var parsed = AddressMessages.Parse(message);
        Assert.Equal(new AddressInfo(9, IpPrefix.Parse(address), 0, flags, null), parsed);
    }
}
