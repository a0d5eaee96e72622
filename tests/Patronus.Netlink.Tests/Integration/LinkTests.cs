using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink.Tests.Integration;

public sealed class LinkTests : IDisposable
{
    private readonly TestNamespace _ns = new();

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void LinkAddBridge_CreatesBridgeVisibleToIp()
    {
        _ns.Netlink.LinkAddBridge("br0", mtu: 1400);

        var link = _ns.Netlink.LinkByName("br0");
        Assert.NotNull(link);
        Assert.Equal("bridge", link.Kind);
        Assert.Equal(1400, link.Mtu);
        var json = _ns.IpJson("-d link show br0")[0];
        Assert.Equal(link.Index, json.GetProperty("ifindex").GetInt32());
        Assert.Equal("bridge", json.GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Equal(1400, json.GetProperty("mtu").GetInt32());
    }

    [Fact]
    public void LinkAddBridge_Twice_ThrowsExistsWithErrno()
    {
        _ns.Netlink.LinkAddBridge("br0");

        var error = Assert.Throws<NetlinkException>(() => _ns.Netlink.LinkAddBridge("br0"));
        Assert.True(error.IsExists);
        Assert.Equal(17, error.Errno);
        Assert.StartsWith("add bridge \"br0\": File exists", error.Message);
    }

    [Fact]
    public void LinkByName_Missing_ReturnsNull()
    {
        Assert.Null(_ns.Netlink.LinkByName("nothere0"));
        Assert.Null(_ns.Netlink.LinkByIndex(9999));
    }

    [Fact]
    public void LinkSetUp_OnMissingIndex_ThrowsNotFound()
    {
        var error = Assert.Throws<NetlinkException>(() => _ns.Netlink.LinkSetUp(9999));
        Assert.True(error.IsNotFound);
        Assert.Equal(19, error.Errno); // ENODEV
        Assert.Contains("link #9999", error.Message);
    }

    [Fact]
    public void LinkSetMaster_BridgeOntoBridge_CarriesKernelExtAckText()
    {
        _ns.Netlink.LinkAddBridge("br0");
        _ns.Netlink.LinkAddBridge("br1");
        var a = _ns.Netlink.LinkByName("br0")!;
        var b = _ns.Netlink.LinkByName("br1")!;

        var error = Assert.Throws<NetlinkException>(() => _ns.Netlink.LinkSetMaster(a.Index, b.Index));
        Assert.Equal("Can not enslave a bridge to a bridge", error.KernelMessage);
        Assert.EndsWith("(Can not enslave a bridge to a bridge)", error.Message);
    }

    [Fact]
    public void LinkAddVeth_PeerInOtherNamespace_LinksBothEnds()
    {
        using var other = new TestNamespace();
        var mac = new byte[] { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
        var peerMac = new byte[] { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

        _ns.Netlink.LinkAddVeth("vh0", "eth0", mtu: 1450, peerNamespace: other.Ns, mac: mac, peerMac: peerMac);

        var host = _ns.Netlink.LinkByName("vh0")!;
        var peer = other.Netlink.LinkByName("eth0")!;
        Assert.Equal("veth", host.Kind);
        Assert.Equal("veth", peer.Kind);
        Assert.Equal(1450, host.Mtu);
        Assert.Equal(1450, peer.Mtu);
        Assert.Equal(mac, host.Mac);
        Assert.Equal(peerMac, peer.Mac);
        Assert.Equal(peer.Index, host.PeerIndex);
        Assert.Equal(host.Index, peer.PeerIndex);
        Assert.NotNull(host.LinkNetnsId);
        Assert.Null(_ns.Netlink.LinkByName("eth0"));
        Assert.Equal("02:00:00:00:00:02", other.IpJson("link show eth0")[0].GetProperty("address").GetString());
    }

    [Fact]
    public void LinkSetters_ChangeStateSeenByIp()
    {
        _ns.Netlink.LinkAddBridge("br0");
        _ns.Netlink.LinkAddVeth("va", "vb");
        var bridge = _ns.Netlink.LinkByName("br0")!;
        var va = _ns.Netlink.LinkByName("va")!;

        _ns.Netlink.LinkSetName(va.Index, "port0");
        _ns.Netlink.LinkSetMtu(va.Index, 1300);
        _ns.Netlink.LinkSetMac(va.Index, [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
        _ns.Netlink.LinkSetMaster(va.Index, bridge.Index);
        _ns.Netlink.LinkSetHairpin(va.Index, true);
        _ns.Netlink.LinkSetPromisc(va.Index, true);
        _ns.Netlink.LinkSetUp(va.Index);

        var link = _ns.Netlink.LinkByIndex(va.Index)!;
        Assert.Equal("port0", link.Name);
        Assert.Equal(1300, link.Mtu);
        Assert.Equal("02:aa:bb:cc:dd:ee", link.MacText);
        Assert.Equal(bridge.Index, link.MasterIndex);
        Assert.True(link.IsUp);
        Assert.True(link.IsPromiscuous);
        var json = _ns.IpJson("-d link show port0")[0];
        Assert.Equal("br0", json.GetProperty("master").GetString());
        Assert.Equal(1300, json.GetProperty("mtu").GetInt32());
        Assert.Contains("UP", json.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains("PROMISC", json.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.True(_ns.IpJson("-d link show port0")[0].GetProperty("linkinfo").GetProperty("info_slave_data").GetProperty("hairpin").GetBoolean());

        _ns.Netlink.LinkSetHairpin(va.Index, false);
        _ns.Netlink.LinkSetNoMaster(va.Index);
        _ns.Netlink.LinkSetPromisc(va.Index, false);
        _ns.Netlink.LinkSetDown(va.Index);

        link = _ns.Netlink.LinkByIndex(va.Index)!;
        Assert.Null(link.MasterIndex);
        Assert.False(link.IsUp);
        Assert.False(link.IsPromiscuous);
    }

    [Fact]
    public void LinkSetNsFd_MovesLink()
    {
        using var other = new TestNamespace();
        _ns.Netlink.LinkAddVeth("va", "vb");
        var vb = _ns.Netlink.LinkByName("vb")!;

        _ns.Netlink.LinkSetNsFd(vb.Index, other.Ns);

        Assert.Null(_ns.Netlink.LinkByName("vb"));
        Assert.NotNull(other.Netlink.LinkByName("vb"));
    }

    [Fact]
    public void LinkList_ListsEveryLinkAndDel_RemovesVethPair()
    {
        _ns.Netlink.LinkAddVeth("va", "vb");
        _ns.Netlink.LinkAddBridge("br0");

        var names = _ns.Netlink.LinkList().Select(l => l.Name).Order().ToArray();
        Assert.Equal(new[] { "br0", "lo", "va", "vb" }, names);

        _ns.Netlink.LinkDel(_ns.Netlink.LinkByName("va")!.Index);
        Assert.Equal(new[] { "br0", "lo" }, _ns.Netlink.LinkList().Select(l => l.Name).Order().ToArray());
    }

    [Fact]
    public void LinkAddVeth_EnslavedAndUp_InOneRequest_ReturnsTheHostEnd()
    {
        using var pod = new TestNamespace();
        _ns.Netlink.LinkAddBridge("br0");
        var bridge = _ns.Netlink.LinkByName("br0")!;

        var created = _ns.Netlink.LinkAddVeth("vh0", "eth0", peerNamespace: pod.Ns, masterIndex: bridge.Index, up: true);

        var host = _ns.Netlink.LinkByName("vh0")!;
        Assert.NotNull(created);
        Assert.Equal(host.Index, created.Index);
        Assert.Equal(host.MacText, created.MacText);
        Assert.Equal(bridge.Index, host.MasterIndex);
        Assert.True(host.IsUp);
        var json = _ns.IpJson("link show vh0")[0];
        Assert.Equal("br0", json.GetProperty("master").GetString());
        Assert.Contains("UP", json.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        var peer = pod.Netlink.LinkByName("eth0")!;
        Assert.False(peer.IsUp);
        Assert.Null(peer.MasterIndex);
    }

    [Fact]
    public void LinkDelUnlisted_FreesBothNamesAndTheAddressForImmediateReuse()
    {
        using var pod = new TestNamespace();
        _ns.Netlink.LinkAddBridge("br0");
        var bridge = _ns.Netlink.LinkByName("br0")!;
        _ns.Netlink.LinkAddVeth("vh0", "eth0", peerNamespace: pod.Ns);
        var host = _ns.Netlink.LinkByName("vh0")!;
        _ns.Netlink.LinkSetMaster(host.Index, bridge.Index);
        _ns.Netlink.LinkSetUp(host.Index);
        var eth0 = pod.Netlink.LinkByName("eth0")!;
        pod.Netlink.AddrAdd(eth0.Index, new IpPrefix(IPAddress.Parse("10.99.0.2"), 24));
        pod.Netlink.LinkSetUp(eth0.Index);

        _ns.Netlink.LinkDelUnlisted(host.Index);

        // What the next ADD of the same attachment needs, at once: both names, the address, the bridge port.
        Assert.Null(_ns.Netlink.LinkByName("vh0"));
        Assert.Null(pod.Netlink.LinkByName("eth0"));
        Assert.Equal("[]", pod.Ip("-j -4 addr show").Trim());
        Assert.Equal(0, _ns.IpJson("link show master br0").GetArrayLength());
        _ns.Netlink.LinkAddVeth("vh0", "eth0", peerNamespace: pod.Ns);
        var again = pod.Netlink.LinkByName("eth0")!;
        pod.Netlink.AddrAdd(again.Index, new IpPrefix(IPAddress.Parse("10.99.0.2"), 24));
        _ns.Netlink.LinkSetMaster(_ns.Netlink.LinkByName("vh0")!.Index, bridge.Index);
        Assert.Equal("10.99.0.2", pod.IpJson("-4 addr show dev eth0")[0].GetProperty("addr_info")[0].GetProperty("local").GetString());

        // The handle goes on working: the late acknowledgement of the delete is skipped, not taken as a reply.
        Assert.Equal(new[] { "br0", "lo", "vh0" }, _ns.Netlink.LinkList().Select(l => l.Name).Order().ToArray());
    }

    [Fact]
    public void LinkDelUnlisted_MissingIndex_ThrowsNotFound()
    {
        var error = Assert.Throws<NetlinkException>(() => _ns.Netlink.LinkDelUnlisted(9999));
        Assert.True(error.IsNotFound);
        Assert.Contains("link #9999", error.Message);
        Assert.NotNull(_ns.Netlink.LinkByName("lo"));
    }

    [Fact]
    public void LinkList_ManyLinks_SpansSeveralDumpDatagrams()
    {
        for (var i = 0; i < 60; i++)
        {
            _ns.Netlink.LinkAddBridge($"br{i}");
        }

        var links = _ns.Netlink.LinkList();
        Assert.Equal(61, links.Count);
        Assert.Equal(61, _ns.IpJson("link show").GetArrayLength());
    }

    [Fact]
    public void InvalidName_IsRefusedNamingTheParameter()
    {
        var error = Assert.Throws<ArgumentException>(() => _ns.Netlink.LinkAddBridge("a-name-longer-than-15"));
        Assert.Equal("name", error.ParamName);
    }
}
