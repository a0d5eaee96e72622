using System.Net;
using Patronus.Agent.Mesh.Peers;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Tunnels;
using Patronus.WireGuard;

namespace Patronus.Agent.Tests.Mesh;

public sealed class TunnelDevicesTests
{
    private static readonly IPEndPoint Fast = IPEndPoint.Parse("198.18.0.1:51820");
    private static readonly IPEndPoint Slow = IPEndPoint.Parse("198.18.1.1:51830");
    private static readonly IPNetwork[] OnBothLinks = [IPNetwork.Parse("198.18.0.0/24"), IPNetwork.Parse("198.18.1.0/24"), IPNetwork.Parse("172.30.0.0/24")];

    private static Announcement Remote(string member, string gateway, params string[] endpoints) =>
        new(new MemberCertificate(member, new byte[32], DateTimeOffset.MaxValue, []), 1, DateTimeOffset.UnixEpoch, Key.GeneratePrivate().PublicKey().Bytes.ToArray(),
            endpoints.Select(IPEndPoint.Parse).ToArray(), [IPNetwork.Parse("10.62.0.0/16")], gateway);

    [Fact]
    public void OneDevicePerPort_NamedAfterThePath_EachWithATableAndAMark()
    {
        var devices = TunnelDevices.Plan("wg-ee6ffd572241", [Fast, Slow], new Dictionary<IPEndPoint, string> { [Fast] = "fast", [Slow] = "slow" });

        Assert.Equal(
        [
            new TunnelDevice(0, "wg-ee6ffd572241", 51820, "fast", [Fast], 7700, 0x10000),
            new TunnelDevice(1, "wg-ee6ffd5722-1", 51830, "slow", [Slow], 7701, 0x20000),
        ], devices, new DeviceComparer());
    }

    [Fact]
    public void EndpointsSharingAPort_AreOneDevice_AndASingleDeviceIsNotSteered()
    {
        // A node's internal and external address: one device reached at two addresses, nothing to steer between.
        var devices = TunnelDevices.Plan("wg-sdwan", [IPEndPoint.Parse("172.30.0.10:51820"), IPEndPoint.Parse("203.0.113.7:51820")]);

        var device = Assert.Single(devices);
        Assert.Equal(("wg-sdwan", 51820, "wg-sdwan", 2), (device.Interface, device.ListenPort, device.PathId, device.LocalEndpoints.Count));
        Assert.Null(device.RouteTable);
        Assert.Null(device.Mark);
    }

    [Fact]
    public void OnePathNameOnTwoPorts_IsRefusedNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => TunnelDevices.Plan("wg-sdwan", [Fast, Slow], new Dictionary<IPEndPoint, string> { [Fast] = "wan", [Slow] = "wan" }));
        Assert.Contains("mesh-endpoints", error.Message);
        Assert.Contains("'wan'", error.Message);
    }

    [Theory]
    [InlineData("wg-sdwan", 0, "wg-sdwan")]
    [InlineData("wg-sdwan", 1, "wg-sdwan-1")]
    [InlineData("wg-ee6ffd572241", 1, "wg-ee6ffd5722-1")]
    [InlineData("wg-ee6ffd572241", 12, "wg-ee6ffd572-12")]
    public void DeviceNames_FitFifteenBytes(string name, int index, string expected)
    {
        Assert.Equal(expected, DeviceNames.Of(name, index));
        Assert.True(DeviceNames.Of(name, index).Length <= 15);
    }

    [Fact]
    public void ARemoteGatewayOnBothLinks_IsReachedOverEachDevice_AtItsAddressOnThatLink()
    {
        var devices = TunnelDevices.Plan("wg-a", [Fast, Slow]);
        var west = Remote("west", "gw-1", "198.18.0.2:51820", "198.18.1.2:51830");

        var paths = TunnelDevices.PathsTo(west, devices, OnBothLinks);

        Assert.Equal([("wg-a", "198.18.0.1:51820", "198.18.0.2:51820"), ("wg-a-1", "198.18.1.1:51830", "198.18.1.2:51830")],
            paths.Select(p => (p.Device.Interface, p.LocalEndpoint.ToString(), p.RemoteEndpoint.ToString())));
    }

    [Fact]
    public void ARemoteGatewayOnOneLinkOnly_IsAPeerOfThatLinksDeviceOnly()
    {
        var devices = TunnelDevices.Plan("wg-a", [Fast, Slow]);
        var onSlow = Remote("south", "gw-1", "198.18.1.7:51820");

        var path = Assert.Single(TunnelDevices.PathsTo(onSlow, devices, OnBothLinks));
        Assert.Equal(1, path.Device.Index);
    }

    [Fact]
    public void ARemoteGatewaySharingNoNetwork_IsReachedOverTheFirstDevice_AtItsFirstEndpoint()
    {
        var devices = TunnelDevices.Plan("wg-a", [Fast, Slow]);
        var faraway = Remote("cloud", "gw-1", "203.0.113.9:51820", "203.0.113.10:51830");

        var path = Assert.Single(TunnelDevices.PathsTo(faraway, devices, OnBothLinks));
        Assert.Equal((0, "203.0.113.9:51820", "198.18.0.1:51820"), (path.Device.Index, path.RemoteEndpoint.ToString(), path.LocalEndpoint.ToString()));
    }

    [Fact]
    public void BothEndsOfAPath_ComputeTheSameTunnelAddresses()
    {
        var eastDevices = TunnelDevices.Plan("wg-e", [Fast, Slow]);
        var westDevices = TunnelDevices.Plan("wg-w", [IPEndPoint.Parse("198.18.0.2:51820"), IPEndPoint.Parse("198.18.1.2:51830")]);
        var east = Remote("east", "gw-1", "198.18.0.1:51820", "198.18.1.1:51830");
        var west = Remote("west", "gw-1", "198.18.0.2:51820", "198.18.1.2:51830");

        var fromEast = TunnelDevices.PathsTo(west, eastDevices, OnBothLinks);
        var fromWest = TunnelDevices.PathsTo(east, westDevices, OnBothLinks);

        for (var i = 0; i < 2; i++)
        {
            // What east probes is what west puts on its device for that path, and the other way round.
            Assert.Equal(fromEast[i].RemoteAddress, fromWest[i].LocalAddress("west", "gw-1"));
            Assert.Equal(fromWest[i].RemoteAddress, fromEast[i].LocalAddress("east", "gw-1"));
        }
        Assert.NotEqual(fromEast[0].RemoteAddress, fromEast[1].RemoteAddress);
    }

    [Fact]
    public void TheTunnelAddress_IsPinned()
    {
        // fd and the first 15 bytes of SHA-256("patronus-tunnel\neast\ngw-1\n198.18.0.1:51820"): both ends of every
        // deployed path compute it; a change here would cut every probe between old and new agents.
        Assert.Equal(IPAddress.Parse("fd5f:65a2:7d04:6905:ea7e:cf9f:24b2:1901"), TunnelDevices.TunnelAddress("east", "gw-1", Fast));
        Assert.Equal(0xfd, TunnelDevices.TunnelAddress("x", "y", Slow).GetAddressBytes()[0]);
    }

    [Fact]
    public void ADeviceView_PeersOnlyWithTheGatewaysItReaches_AndAllowsAndRoutesTheirTunnelAddresses()
    {
        var west = Remote("west", "gw-1", "198.18.0.2:51820");
        var south = Remote("south", "gw-1", "198.18.1.7:51820");
        var inside = IPAddress.Parse("fd00::1");
        var view = new DeviceView(a => a.MemberId == "west" ? a.Endpoints[0] : null, a => a.MemberId == "west" ? inside : null);

        var plan = PeerPlanner.Plan([west, south], [], device: view);

        var peer = Assert.Single(plan.Changes);
        Assert.Equal(Key.FromBytes(KeyKind.Public, west.WireGuardKey), peer.PublicKey);
        Assert.Equal(["10.62.0.0/16", "fd00::1/128"], peer.AllowedIPs.Select(p => p.ToString()).Order());
        Assert.Equal(["10.62.0.0/16"], plan.Routes.Select(p => p.ToString()));
        Assert.Equal(["fd00::1/128"], plan.TunnelRoutes.Select(p => p.ToString()));
        Assert.Equal(["west"], plan.RoutesByMember.Keys);
        // Carriers are chosen over every gateway, so every device agrees, also for members it does not reach.
        Assert.Equal("gw-1", plan.Carriers["south"]);
    }

    private sealed class DeviceComparer : IEqualityComparer<TunnelDevice>
    {
        public bool Equals(TunnelDevice? x, TunnelDevice? y) =>
            x is not null && y is not null && x with { LocalEndpoints = [] } == y with { LocalEndpoints = [] } && x.LocalEndpoints.SequenceEqual(y.LocalEndpoints);

        public int GetHashCode(TunnelDevice obj) => obj.Index;
    }
}
