using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>
/// Two "nodes" (namespaces) on one underlay veth, each with a vxlan device learning nothing: the overlay works
/// only through the static FDB and neighbour entries this library programs, as the agent's VXLAN mode will.
/// </summary>
public sealed class NeighborTests : IDisposable
{
    private static readonly byte[] MacA = [0x02, 0x50, 0, 0, 0, 0x0a];
    private static readonly byte[] MacB = [0x02, 0x50, 0, 0, 0, 0x0b];

    private readonly TestNamespace _a = new();
    private readonly TestNamespace _b;
    private readonly int _vxA;
    private readonly int _vxB;

    public NeighborTests()
    {
        try
        {
            _b = new TestNamespace();
            _a.Netlink.LinkAddVeth("u0", "u0", peerNamespace: _b.Ns);
            _vxA = Node(_a, "192.168.5.1", MacA, "10.244.1.0/32", "fd44:1::/128");
            _vxB = Node(_b, "192.168.5.2", MacB, "10.244.2.0/32", "fd44:2::/128");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _b?.Dispose();
        _a.Dispose();
    }

    [Fact]
    public void StaticFdbAndNeighbours_CarryTrafficOverVxlan_BothFamilies()
    {
        Program(_a, _vxA, "192.168.5.2", MacB, "10.244.2.0", "fd44:2::");
        Program(_b, _vxB, "192.168.5.1", MacA, "10.244.1.0", "fd44:1::");

        Assert.Contains("1 received", _a.Exec("ping -c 1 -W 2 10.244.2.0"));
        Assert.Contains("1 received", _a.Exec("ping -6 -c 1 -W 2 fd44:2::"));
    }

    [Fact]
    public void NeighReplace_PermanentEntry_ListedByUsAndIp_ReplaceChangesTheMac()
    {
        var neighbor = new Neighbor { LinkIndex = _vxA, Address = IPAddress.Parse("10.244.2.0"), Mac = MacB };
        _a.Netlink.NeighReplace(neighbor);
        _a.Netlink.NeighReplace(neighbor); // replace is idempotent

        var listed = Assert.Single(_a.Netlink.NeighList(_vxA, AddressFamily.InterNetwork));
        Assert.Equal(MacB, listed.Mac);
        Assert.Equal(NeighborState.Permanent, listed.State);
        var ip = _a.IpJson("neigh show dev vx0")[0];
        Assert.Equal("10.244.2.0", ip.GetProperty("dst").GetString());
        Assert.Equal("02:50:00:00:00:0b", ip.GetProperty("lladdr").GetString());
        Assert.Equal("PERMANENT", ip.GetProperty("state")[0].GetString());

        _a.Netlink.NeighReplace(neighbor with { Mac = MacA });
        Assert.Equal(MacA, Assert.Single(_a.Netlink.NeighList(_vxA, AddressFamily.InterNetwork)).Mac);
        Assert.DoesNotContain(_a.Netlink.NeighList(_vxA), n => n.Family == AddressFamily.InterNetworkV6 && n.Address.Equals(neighbor.Address));
    }

    [Fact]
    public void NeighDel_IsIdempotent_MissingLinkStillFails()
    {
        var neighbor = new Neighbor { LinkIndex = _vxA, Address = IPAddress.Parse("fd44:2::"), Mac = MacB };
        _a.Netlink.NeighReplace(neighbor);
        Assert.Contains(_a.Netlink.NeighList(_vxA, AddressFamily.InterNetworkV6), n => n.Address.Equals(neighbor.Address));

        Assert.True(_a.Netlink.NeighDel(neighbor));
        Assert.False(_a.Netlink.NeighDel(neighbor));
        Assert.DoesNotContain(_a.Netlink.NeighList(_vxA), n => n.Address.Equals(neighbor.Address));
        Assert.Equal("", _a.Ip("neigh show dev vx0 to fd44:2::").Trim());

        var error = Assert.Throws<NetlinkException>(() => _a.Netlink.NeighDel(neighbor with { LinkIndex = 9999 }));
        Assert.True(error.IsNotFound);
        Assert.Contains("link #9999", error.Message);
    }

    [Fact]
    public void FdbReplace_ThenReplaceDestination_OneEntry_SeenByBridgeTool()
    {
        var entry = new FdbEntry { LinkIndex = _vxA, Mac = MacB, Destination = IPAddress.Parse("192.168.5.2") };
        _a.Netlink.FdbReplace(entry);
        _a.Netlink.FdbReplace(entry with { Destination = IPAddress.Parse("192.168.5.9") });

        var listed = Assert.Single(_a.Netlink.FdbList(_vxA), e => e.Mac.AsSpan().SequenceEqual(MacB));
        Assert.Equal(IPAddress.Parse("192.168.5.9"), listed.Destination);
        Assert.True(listed.State.HasFlag(NeighborState.Permanent));
        Assert.True(listed.Flags.HasFlag(NeighborFlags.Self));
        var bridge = BridgeFdb(_a).Single(e => e.GetProperty("mac").GetString() == "02:50:00:00:00:0b");
        Assert.Equal("192.168.5.9", bridge.GetProperty("dst").GetString());
        Assert.Equal("permanent", bridge.GetProperty("state").GetString());
    }

    [Fact]
    public void FdbAppend_AllZerosMac_TwoDestinations_DeleteOneThenIdempotent()
    {
        var first = new FdbEntry { LinkIndex = _vxA, Mac = FdbEntry.AllZerosMac, Destination = IPAddress.Parse("192.168.5.2") };
        var second = first with { Destination = IPAddress.Parse("192.168.5.3") };
        _a.Netlink.FdbAppend(first);
        _a.Netlink.FdbAppend(second);

        var zeros = _a.Netlink.FdbList(_vxA).Where(e => e.Mac.AsSpan().SequenceEqual(FdbEntry.AllZerosMac)).Select(e => e.Destination).ToList();
        Assert.Equal([IPAddress.Parse("192.168.5.2"), IPAddress.Parse("192.168.5.3")], zeros.OrderBy(a => a!.ToString()));
        Assert.Equal(2, BridgeFdb(_a).Count(e => e.GetProperty("mac").GetString() == "00:00:00:00:00:00"));

        Assert.True(_a.Netlink.FdbDel(first));
        _a.Netlink.FdbDel(first); // the kernel acknowledges a destination missing from an entry that still exists
        var left = Assert.Single(_a.Netlink.FdbList(_vxA), e => e.Mac.AsSpan().SequenceEqual(FdbEntry.AllZerosMac));
        Assert.Equal(IPAddress.Parse("192.168.5.3"), left.Destination);

        Assert.True(_a.Netlink.FdbDel(second));
        Assert.False(_a.Netlink.FdbDel(second));
        Assert.DoesNotContain(_a.Netlink.FdbList(_vxA), e => e.Mac.AsSpan().SequenceEqual(FdbEntry.AllZerosMac));
    }

    [Fact]
    public void FdbReplace_BadMac_RefusedNamingTheField()
    {
        var error = Assert.Throws<ArgumentException>(() => _a.Netlink.FdbReplace(new FdbEntry { LinkIndex = _vxA, Mac = [1, 2, 3] }));
        Assert.Equal("Mac", error.ParamName);
    }

    private static int Node(TestNamespace node, string underlay, byte[] mac, string overlay4, string overlay6)
    {
        var uplink = node.Netlink.LinkByName("u0")!.Index;
        node.Netlink.AddrAdd(uplink, IpPrefix.Parse(underlay + "/24"));
        node.Netlink.LinkSetUp(uplink);
        node.Netlink.LinkAddVxlan("vx0", new VxlanSettings { Vni = 1, Local = IPAddress.Parse(underlay), UnderlayIndex = uplink });
        var vx = node.Netlink.LinkByName("vx0")!.Index;
        node.Netlink.LinkSetMac(vx, mac);
        node.Netlink.AddrAdd(vx, IpPrefix.Parse(overlay4));
        node.Netlink.AddrAdd(vx, IpPrefix.Parse(overlay6), AddressFlags.NoDad);
        node.Netlink.LinkSetUp(vx);
        return vx;
    }

    /// <summary>What the agent programs per remote node: a route on the vxlan device, the neighbour, the FDB entry.</summary>
    private static void Program(TestNamespace node, int vx, string remoteUnderlay, byte[] remoteMac, string remote4, string remote6)
    {
        node.Netlink.RouteReplace(new Route { Destination = IpPrefix.Parse(remote4 + "/32"), LinkIndex = vx });
        node.Netlink.RouteReplace(new Route { Destination = IpPrefix.Parse(remote6 + "/128"), LinkIndex = vx });
        node.Netlink.NeighReplace(new Neighbor { LinkIndex = vx, Address = IPAddress.Parse(remote4), Mac = remoteMac });
        node.Netlink.NeighReplace(new Neighbor { LinkIndex = vx, Address = IPAddress.Parse(remote6), Mac = remoteMac });
        node.Netlink.FdbReplace(new FdbEntry { LinkIndex = vx, Mac = remoteMac, Destination = IPAddress.Parse(remoteUnderlay) });
    }

    private static IEnumerable<JsonElement> BridgeFdb(TestNamespace node)
        => JsonDocument.Parse(Shell.Run("bridge", $"-n {node.Name} -j fdb show dev vx0")).RootElement.EnumerateArray().ToList();
}
