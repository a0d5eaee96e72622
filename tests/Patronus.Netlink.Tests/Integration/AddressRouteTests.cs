using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>Two namespaces joined by a veth pair, like a pod and its node.</summary>
public sealed class AddressRouteTests : IDisposable
{
    private readonly TestNamespace _host = new();
    private readonly TestNamespace _pod;
    private readonly int _hostIndex;
    private readonly int _podIndex;

    public AddressRouteTests()
    {
        // xunit does not dispose a test class whose constructor throws: clean up here then.
        try
        {
            _pod = new TestNamespace();
            _host.Netlink.LinkAddVeth("vhost", "eth0", peerNamespace: _pod.Ns);
            _hostIndex = _host.Netlink.LinkByName("vhost")!.Index;
            _podIndex = _pod.Netlink.LinkByName("eth0")!.Index;
            _host.Netlink.LinkSetUp(_hostIndex);
            _pod.Netlink.LinkSetUp(_podIndex);
            _pod.Netlink.LinkSetUp(_pod.Netlink.LinkByName("lo")!.Index);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _pod?.Dispose();
        _host.Dispose();
    }

    [Fact]
    public void AddrAdd_IPv4AndIPv6_ListedByUsAndIp()
    {
        _pod.Netlink.AddrAdd(_podIndex, IpPrefix.Parse("10.77.0.2/24"));
        _pod.Netlink.AddrAdd(_podIndex, IpPrefix.Parse("fd77::2/64"), AddressFlags.NoDad);

        var v4 = _pod.Netlink.AddrList(_podIndex, AddressFamily.InterNetwork);
        var only = Assert.Single(v4);
        Assert.Equal(IpPrefix.Parse("10.77.0.2/24"), only.Address);
        Assert.Equal("eth0", only.Label);
        var v6 = _pod.Netlink.AddrList(_podIndex, AddressFamily.InterNetworkV6);
        Assert.True(v6.Any(a => a.Address == IpPrefix.Parse("fd77::2/64") && a.Flags.HasFlag(AddressFlags.NoDad)), string.Join(", ", v6));

        var json = _pod.IpJson("addr show dev eth0")[0].GetProperty("addr_info").EnumerateArray()
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}").ToArray();
        Assert.Contains("10.77.0.2/24", json);
        Assert.Contains("fd77::2/64", json);
        var broadcast = _pod.IpJson("-4 addr show dev eth0")[0].GetProperty("addr_info")[0].GetProperty("broadcast").GetString();
        Assert.Equal("10.77.0.255", broadcast);
    }

    [Fact]
    public void AddrAdd_Twice_ThrowsExists_ReplaceSucceeds_DelRemoves()
    {
        var address = IpPrefix.Parse("10.77.0.2/24");
        _pod.Netlink.AddrAdd(_podIndex, address);

        Assert.True(Assert.Throws<NetlinkException>(() => _pod.Netlink.AddrAdd(_podIndex, address)).IsExists);
        _pod.Netlink.AddrReplace(_podIndex, address);
        _pod.Netlink.AddrDel(_podIndex, address);

        Assert.Empty(_pod.Netlink.AddrList(_podIndex, AddressFamily.InterNetwork));
        Assert.DoesNotContain("10.77.0.2", _pod.Ip("-4 addr show dev eth0"));
    }

    [Fact]
    public void AddrAdd_OnMissingLink_ThrowsNotFound_AddrDelMissing_ThrowsWithErrno()
    {
        var missingLink = Assert.Throws<NetlinkException>(() => _pod.Netlink.AddrAdd(9999, IpPrefix.Parse("10.77.0.9/24")));
        Assert.True(missingLink.IsNotFound);
        Assert.StartsWith("add address 10.77.0.9/24 on link #9999: No such device", missingLink.Message);

        var missingAddress = Assert.Throws<NetlinkException>(() => _pod.Netlink.AddrDel(_podIndex, IpPrefix.Parse("10.77.0.9/24")));
        Assert.Equal(99, missingAddress.Errno); // EADDRNOTAVAIL
    }

    [Fact]
    public void AddrList_AllFamiliesAndLinks_IncludesLoopback()
    {
        var all = _pod.Netlink.AddrList();
        Assert.Contains(all, a => a.Address == IpPrefix.Parse("127.0.0.1/8"));
        Assert.Contains(all, a => a.Address == IpPrefix.Parse("::1/128"));
    }

    [Fact]
    public void Routes_DefaultViaGateway_PingBothFamilies()
    {
        _host.Netlink.AddrAdd(_hostIndex, IpPrefix.Parse("10.77.0.1/24"));
        _host.Netlink.AddrAdd(_hostIndex, IpPrefix.Parse("fd77::1/64"), AddressFlags.NoDad);
        _host.Netlink.AddrAdd(_host.Netlink.LinkByName("lo")!.Index, IpPrefix.Parse("10.88.0.1/32"));
        _host.Netlink.LinkSetUp(_host.Netlink.LinkByName("lo")!.Index);
        _pod.Netlink.AddrAdd(_podIndex, IpPrefix.Parse("10.77.0.2/24"));
        _pod.Netlink.AddrAdd(_podIndex, IpPrefix.Parse("fd77::2/64"), AddressFlags.NoDad);

        _pod.Netlink.RouteAdd(new Route { Destination = IpPrefix.DefaultIPv4, Gateway = IPAddress.Parse("10.77.0.1"), LinkIndex = _podIndex });
        _pod.Netlink.RouteAdd(new Route { Destination = IpPrefix.DefaultIPv6, Gateway = IPAddress.Parse("fd77::1"), LinkIndex = _podIndex, Metric = 100 });

        var v4 = _pod.Netlink.RouteList(AddressFamily.InterNetwork);
        var defaultV4 = Assert.Single(v4, r => r.IsDefault);
        Assert.Equal(IPAddress.Parse("10.77.0.1"), defaultV4.Gateway);
        Assert.Equal(_podIndex, defaultV4.LinkIndex);
        Assert.Equal(RouteProtocol.Boot, defaultV4.Protocol);
        Assert.Contains(v4, r => r.Destination == IpPrefix.Parse("10.77.0.0/24") && r.Protocol == RouteProtocol.Kernel && r.Scope == RouteScope.Link);
        var defaultV6 = Assert.Single(_pod.Netlink.RouteList(AddressFamily.InterNetworkV6), r => r.IsDefault);
        Assert.Equal(IPAddress.Parse("fd77::1"), defaultV6.Gateway);
        Assert.Equal(100, defaultV6.Metric);

        var ipDefault = _pod.IpJson("-4 route show default")[0];
        Assert.Equal("10.77.0.1", ipDefault.GetProperty("gateway").GetString());
        Assert.Equal("eth0", ipDefault.GetProperty("dev").GetString());

        _pod.Exec("ping -c 1 -W 5 10.88.0.1");
        _pod.Exec("ping -6 -c 1 -W 5 fd77::1");
    }

    [Fact]
    public void RouteReplace_AndDel_WithPreferredSourceAndLinkScope()
    {
        _pod.Netlink.AddrAdd(_podIndex, IpPrefix.Parse("10.77.0.2/24"));
        var route = new Route { Destination = IpPrefix.Parse("10.99.0.0/16"), LinkIndex = _podIndex, Source = IPAddress.Parse("10.77.0.2") };

        _pod.Netlink.RouteAdd(route);
        Assert.True(Assert.Throws<NetlinkException>(() => _pod.Netlink.RouteAdd(route)).IsExists);
        _pod.Netlink.RouteReplace(route with { Metric = null });

        var listed = Assert.Single(_pod.Netlink.RouteList(AddressFamily.InterNetwork, _podIndex), r => r.Destination.PrefixLength == 16);
        Assert.Equal(RouteScope.Link, listed.Scope);
        Assert.Equal(IPAddress.Parse("10.77.0.2"), listed.Source);
        var json = _pod.IpJson("route show 10.99.0.0/16")[0];
        Assert.Equal("link", json.GetProperty("scope").GetString());
        Assert.Equal("10.77.0.2", json.GetProperty("prefsrc").GetString());

        _pod.Netlink.RouteDel(route);
        Assert.Equal(0, _pod.IpJson("route show 10.99.0.0/16").GetArrayLength());
        var missing = Assert.Throws<NetlinkException>(() => _pod.Netlink.RouteDel(route));
        Assert.True(missing.IsNotFound);
    }

    [Fact]
    public void RouteAdd_UnreachableGateway_CarriesKernelExtAckText()
    {
        var error = Assert.Throws<NetlinkException>(() =>
            _pod.Netlink.RouteAdd(new Route { Destination = IpPrefix.Parse("10.9.0.0/24"), Gateway = IPAddress.Parse("10.8.0.1") }));

        Assert.Equal("Nexthop has invalid gateway", error.KernelMessage);
        Assert.Equal("add route 10.9.0.0/24 via 10.8.0.1: Network is unreachable (Nexthop has invalid gateway)", error.Message);
    }

    [Fact]
    public void RouteAdd_OtherTable_ListedOnlyForThatTable()
    {
        _pod.Netlink.AddrAdd(_podIndex, IpPrefix.Parse("10.77.0.2/24"));
        _pod.Netlink.RouteAdd(new Route { Destination = IpPrefix.DefaultIPv4, Gateway = IPAddress.Parse("10.77.0.1"), Table = 1000 });

        Assert.DoesNotContain(_pod.Netlink.RouteList(AddressFamily.InterNetwork), r => r.IsDefault);
        Assert.Single(_pod.Netlink.RouteList(AddressFamily.InterNetwork, table: 1000));
        Assert.Equal("10.77.0.1", _pod.IpJson("route show table 1000")[0].GetProperty("gateway").GetString());
    }
}
