using System.Net;
using Patronus.Agent.Routes;

namespace Patronus.Agent.Tests.Routes;

public class VxlanEndpointTests
{
    [Fact]
    public void MacFromIPv4Underlay_IsLocallyAdministeredUnicastAndCarriesTheAddress()
    {
        var mac = VxlanEndpoint.MacFor(IPAddress.Parse("192.168.2.3"));

        Assert.Equal(new byte[] { 0x4e, 0x50, 192, 168, 2, 3 }, mac);
        Assert.Equal(0x02, mac[0] & 0x03);
    }

    [Fact]
    public void MacFromIPv6Underlay_IsStableAndDiffersBetweenAddresses()
    {
        var a = VxlanEndpoint.MacFor(IPAddress.Parse("fd00:2::3"));
        Assert.Equal(a, VxlanEndpoint.MacFor(IPAddress.Parse("fd00:2::3")));
        Assert.NotEqual(a, VxlanEndpoint.MacFor(IPAddress.Parse("fd00:2::4")));
        Assert.Equal(0x02, a[0] & 0x03);
    }

    [Fact]
    public void LinkLocal_IsTheKernelsModifiedEui64()
    {
        // What Linux assigns to a device with MAC 4e:50:c0:a8:02:03 (addr_gen_mode eui64): the U/L bit flipped.
        Assert.Equal(IPAddress.Parse("fe80::4c50:c0ff:fea8:203"), VxlanEndpoint.LinkLocalFor([0x4e, 0x50, 0xc0, 0xa8, 0x02, 0x03]));
    }
}
