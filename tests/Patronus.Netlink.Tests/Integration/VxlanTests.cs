using System.Net;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>A vxlan device on a veth underlay, created by us and read back by us and by iproute2.</summary>
public sealed class VxlanTests : IDisposable
{
    private readonly TestNamespace _ns = new();
    private readonly int _underlay;

    public VxlanTests()
    {
        try
        {
            _ns.Netlink.LinkAddVeth("u0", "u1");
            _underlay = _ns.Netlink.LinkByName("u0")!.Index;
            _ns.Netlink.AddrAdd(_underlay, IpPrefix.Parse("192.168.5.1/24"));
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void LinkAddVxlan_OverlayDefaults_ReadBackByUsAndIp()
    {
        var settings = new VxlanSettings { Vni = 42, Local = IPAddress.Parse("192.168.5.1"), UnderlayIndex = _underlay };
        _ns.Netlink.LinkAddVxlan("vx0", settings, mtu: 1450);

        var link = _ns.Netlink.LinkByName("vx0")!;
        Assert.Equal("vxlan", link.Kind);
        Assert.Equal(1450, link.Mtu);
        Assert.Equal(settings, link.Vxlan);
        Assert.Equal(8472, link.Vxlan!.Port);
        Assert.False(link.Vxlan.Learning);
        Assert.Null(link.Vxlan.Group);

        var data = _ns.IpJson("-d link show vx0")[0].GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal(42, data.GetProperty("id").GetInt32());
        Assert.Equal("192.168.5.1", data.GetProperty("local").GetString());
        Assert.Equal("u0", data.GetProperty("link").GetString());
        Assert.Equal(8472, data.GetProperty("port").GetInt32());
        Assert.False(data.GetProperty("learning").GetBoolean());
        Assert.False(data.TryGetProperty("group", out _));
        Assert.False(data.TryGetProperty("remote", out _));
        Assert.Null(_ns.Netlink.LinkByName("u0")!.Vxlan);
    }

    [Fact]
    public void LinkAddVxlan_IPv6Local_ReadBack()
    {
        var underlayV6 = IPAddress.Parse("fd00:5::1");
        _ns.Netlink.AddrAdd(_underlay, new IpPrefix(underlayV6, 64), AddressFlags.NoDad);
        var settings = new VxlanSettings { Vni = 7, Local = underlayV6, UnderlayIndex = _underlay, Port = 4789, Learning = true };
        _ns.Netlink.LinkAddVxlan("vx6", settings);

        Assert.Equal(settings, _ns.Netlink.LinkByName("vx6")!.Vxlan);
        var data = _ns.IpJson("-d link show vx6")[0].GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal("fd00:5::1", data.GetProperty("local6").GetString());
        Assert.True(data.GetProperty("learning").GetBoolean());
    }

    [Fact]
    public void LinkAddVxlan_Twice_ThrowsExists_NamingTheDevice()
    {
        var settings = new VxlanSettings { Vni = 42, UnderlayIndex = _underlay };
        _ns.Netlink.LinkAddVxlan("vx0", settings);

        var error = Assert.Throws<NetlinkException>(() => _ns.Netlink.LinkAddVxlan("vx0", settings));
        Assert.True(error.IsExists);
        Assert.StartsWith("add vxlan \"vx0\" (VNI 42): File exists", error.Message);
    }

    [Fact]
    public void LinkAddVxlan_BadVni_RefusedBeforeTheKernelSeesIt()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ns.Netlink.LinkAddVxlan("vx0", new VxlanSettings { Vni = 1 << 24 }));
        Assert.Equal("Vni", error.ParamName);
        Assert.Null(_ns.Netlink.LinkByName("vx0"));
    }
}
