using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>
/// A "gateway" namespace with two paths (veths to two namespaces that both own 10.9.9.9): the main table
/// uses one, a marked packet is steered by a rule onto the other. Routes and rules are ours, checked by ip.
/// </summary>
public sealed class PolicyRoutingTests : IDisposable
{
    private const int PathTable = 1000;

    private readonly TestNamespace _gw = new();
    private readonly TestNamespace _pathA;
    private readonly TestNamespace _pathB;
    private readonly int _toA;
    private readonly int _toB;

    public PolicyRoutingTests()
    {
        try
        {
            _pathA = new TestNamespace();
            _pathB = new TestNamespace();
            _toA = Path(_pathA, "pa", "192.168.10");
            _toB = Path(_pathB, "pb", "192.168.20");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _pathB?.Dispose();
        _pathA?.Dispose();
        _gw.Dispose();
    }

    [Fact]
    public void RouteReplace_OnLinkGatewayInTableAbove255_WithMetrics_ReadBackByUsAndIp()
    {
        // 10.1.0.1 is on no subnet of pb: only onlink makes the kernel accept it as pb's neighbour.
        var route = new Route
        {
            Destination = IpPrefix.Parse("10.244.9.0/24"), Gateway = IPAddress.Parse("10.1.0.1"), LinkIndex = _toB, OnLink = true,
            Table = PathTable, Protocol = RouteProtocol.Patronus, Mtu = 1370, AdvertisedMss = 1330,
        };
        Assert.Throws<NetlinkException>(() => _gw.Netlink.RouteReplace(route with { OnLink = false }));
        _gw.Netlink.RouteReplace(route);
        _gw.Netlink.RouteReplace(route with { Gateway = IPAddress.Parse("10.1.0.2") });

        var ours = Assert.Single(_gw.Netlink.RouteList(AddressFamily.InterNetwork, table: PathTable, protocol: RouteProtocol.Patronus));
        Assert.Equal(route with { Gateway = IPAddress.Parse("10.1.0.2"), Scope = RouteScope.Universe, Type = RouteType.Unicast }, ours);
        Assert.Empty(_gw.Netlink.RouteList(AddressFamily.InterNetwork, protocol: RouteProtocol.Patronus));
        Assert.Contains(_gw.Netlink.RouteList(AddressFamily.InterNetwork, table: 0), r => r.Table == PathTable);

        var ip = _gw.IpJson($"-d route show table {PathTable}")[0];
        Assert.Equal("10.244.9.0/24", ip.GetProperty("dst").GetString());
        Assert.Equal("10.1.0.2", ip.GetProperty("gateway").GetString());
        Assert.Equal("77", ip.GetProperty("protocol").GetString());
        Assert.Contains("onlink", ip.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        var metrics = ip.GetProperty("metrics")[0];
        Assert.Equal(1370, metrics.GetProperty("mtu").GetInt32());
        Assert.Equal(1330, metrics.GetProperty("advmss").GetInt32());
    }

    [Fact]
    public void RouteList_ByProtocol_FindsOnlyOurRoutes_ThenDeleteThem()
    {
        _gw.Netlink.RouteReplace(new Route { Destination = IpPrefix.Parse("10.244.8.0/24"), LinkIndex = _toA, Protocol = RouteProtocol.Patronus, Mtu = 1450 });
        _gw.Netlink.RouteReplace(new Route { Destination = IpPrefix.Parse("10.244.7.0/24"), LinkIndex = _toA, Protocol = RouteProtocol.Static });

        var ours = Assert.Single(_gw.Netlink.RouteList(AddressFamily.InterNetwork, protocol: RouteProtocol.Patronus));
        Assert.Equal(IpPrefix.Parse("10.244.8.0/24"), ours.Destination);
        Assert.Equal(RouteScope.Link, ours.Scope);
        Assert.Null(ours.Gateway);
        Assert.Equal(1450, ours.Mtu);
        Assert.Contains("10.244.8.0/24", _gw.Ip("route show proto 77"));
        Assert.DoesNotContain("10.244.7.0/24", _gw.Ip("route show proto 77"));

        _gw.Netlink.RouteDel(ours);
        Assert.Empty(_gw.Netlink.RouteList(AddressFamily.InterNetwork, protocol: RouteProtocol.Patronus));
    }

    [Fact]
    public void Rule_SteersMarkedPacketsOntoTheOtherPath()
    {
        var target = IpPrefix.Parse("10.9.9.9/32");
        _gw.Netlink.RouteReplace(new Route { Destination = target, Gateway = IPAddress.Parse("192.168.10.2"), LinkIndex = _toA, Protocol = RouteProtocol.Patronus });
        _gw.Netlink.RouteReplace(new Route { Destination = target, Gateway = IPAddress.Parse("192.168.20.2"), LinkIndex = _toB, Table = PathTable, Protocol = RouteProtocol.Patronus });
        var rule = new RoutingRule
        {
            Family = AddressFamily.InterNetwork, Mark = 0x100, Mask = 0xff00, Table = PathTable, Priority = 100, Protocol = RouteProtocol.Patronus,
        };
        _gw.Netlink.RuleAdd(rule);

        var (unmarkedOnA, unmarkedOnB) = EchoRequestsWhile(() => _gw.Exec("ping -c 3 -i 0.2 -W 2 10.9.9.9"));
        // Mark 0x1ff (511): under the mask 0xff00 it is 0x100, the rule's mark.
        var (markedOnA, markedOnB) = EchoRequestsWhile(() => _gw.Exec("ping -c 3 -i 0.2 -W 2 -m 511 10.9.9.9"));

        Assert.Equal((3L, 0L), (unmarkedOnA, unmarkedOnB));
        Assert.Equal((0L, 3L), (markedOnA, markedOnB));
    }

    [Fact]
    public void RuleAdd_ListedByUsAndIp_DuplicateExists_DelIdempotent()
    {
        var rule = new RoutingRule
        {
            Family = AddressFamily.InterNetwork, Mark = 0x200, Mask = 0xff00, Table = PathTable + 1, Priority = 101, Protocol = RouteProtocol.Patronus,
        };
        _gw.Netlink.RuleAdd(rule);

        Assert.Equal(rule, Assert.Single(_gw.Netlink.RuleList(AddressFamily.InterNetwork, RouteProtocol.Patronus)));
        Assert.Contains(_gw.Netlink.RuleList(AddressFamily.InterNetwork), r => r.Table == Route.MainTable && r.Priority == 32766);
        var ip = _gw.IpJson("rule show").EnumerateArray().Single(r => r.GetProperty("priority").GetInt32() == 101);
        Assert.Equal("0x200", ip.GetProperty("fwmark").GetString());
        Assert.Equal("0xff00", ip.GetProperty("fwmask").GetString());
        Assert.Equal("1001", ip.GetProperty("table").GetString());

        var duplicate = Assert.Throws<NetlinkException>(() => _gw.Netlink.RuleAdd(rule));
        Assert.True(duplicate.IsExists);
        Assert.Contains("fwmark 0x200/0xff00 lookup 1001", duplicate.Message);

        Assert.True(_gw.Netlink.RuleDel(rule));
        Assert.False(_gw.Netlink.RuleDel(rule));
        Assert.Empty(_gw.Netlink.RuleList(AddressFamily.InterNetwork, RouteProtocol.Patronus));
    }

    [Fact]
    public void RuleAdd_IPv6WithSource_ReadBack()
    {
        var rule = new RoutingRule { Family = AddressFamily.InterNetworkV6, Source = IpPrefix.Parse("fd44:1::/64"), Table = PathTable, Priority = 50, Protocol = RouteProtocol.Patronus };
        _gw.Netlink.RuleAdd(rule);

        Assert.Equal(rule, Assert.Single(_gw.Netlink.RuleList(AddressFamily.InterNetworkV6, RouteProtocol.Patronus)));
        Assert.Contains("from fd44:1::/64 lookup 1000", _gw.Ip("-6 rule show"));
    }

    [Fact]
    public void BadRuleAndRoute_RefusedNamingTheField()
    {
        var wrongFamily = Assert.Throws<ArgumentException>(() => _gw.Netlink.RuleAdd(
            new RoutingRule { Family = AddressFamily.InterNetwork, Source = IpPrefix.Parse("fd00::/64") }));
        Assert.Equal("Source", wrongFamily.ParamName);
        Assert.Equal("Mask", Assert.Throws<ArgumentException>(() => _gw.Netlink.RuleAdd(
            new RoutingRule { Family = AddressFamily.InterNetwork, Mask = 0xff })).ParamName);
        var onLinkWithoutDevice = Assert.Throws<ArgumentException>(() => _gw.Netlink.RouteReplace(
            new Route { Destination = IpPrefix.Parse("10.1.0.0/16"), Gateway = IPAddress.Parse("10.2.0.1"), OnLink = true }));
        Assert.Contains("LinkIndex", onLinkWithoutDevice.Message);
        Assert.Contains("MTU", Assert.Throws<ArgumentOutOfRangeException>(() => _gw.Netlink.RouteReplace(
            new Route { Destination = IpPrefix.Parse("10.1.0.0/16"), LinkIndex = _toA, Mtu = 20 })).Message);
    }

    private int Path(TestNamespace path, string name, string subnet)
    {
        _gw.Netlink.LinkAddVeth(name, "eth0", peerNamespace: path.Ns);
        var local = _gw.Netlink.LinkByName(name)!.Index;
        _gw.Netlink.AddrAdd(local, IpPrefix.Parse(subnet + ".1/24"));
        _gw.Netlink.LinkSetUp(local);
        var remote = path.Netlink.LinkByName("eth0")!.Index;
        path.Netlink.AddrAdd(remote, IpPrefix.Parse(subnet + ".2/24"));
        path.Netlink.LinkSetUp(remote);
        var lo = path.Netlink.LinkByName("lo")!.Index;
        path.Netlink.AddrAdd(lo, IpPrefix.Parse("10.9.9.9/32"));
        path.Netlink.LinkSetUp(lo);
        path.Netlink.RouteAdd(new Route { Destination = IpPrefix.DefaultIPv4, Gateway = IPAddress.Parse(subnet + ".1"), LinkIndex = remote });
        return local;
    }

    /// <summary>ICMP echo requests each path's namespace received while <paramref name="act"/> ran.</summary>
    private (long OnA, long OnB) EchoRequestsWhile(Action act)
    {
        var (a, b) = (EchoRequests(_pathA), EchoRequests(_pathB));
        act();
        return (EchoRequests(_pathA) - a, EchoRequests(_pathB) - b);
    }

    private static long EchoRequests(TestNamespace path)
    {
        var snmp = path.Exec("cat /proc/net/snmp").Split('\n').Where(l => l.StartsWith("Icmp:", StringComparison.Ordinal)).ToArray();
        var names = snmp[0].Split(' ');
        var values = snmp[1].Split(' ');
        return long.Parse(values[Array.IndexOf(names, "InEchos")], System.Globalization.CultureInfo.InvariantCulture);
    }
}
