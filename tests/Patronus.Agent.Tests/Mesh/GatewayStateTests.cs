using System.Net;
using Patronus.Agent.Mesh;
using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Tests.Mesh;

public sealed class GatewayStateTests
{
    private static readonly Key West = Key.GeneratePrivate().PublicKey();
    private static readonly Key South = Key.GeneratePrivate().PublicKey();

    private static Announcement Member(string id, Key key) =>
        new(new MemberCertificate(id, new byte[32], DateTimeOffset.MaxValue, []), 1, DateTimeOffset.UnixEpoch, key.Bytes.ToArray(),
            [IPEndPoint.Parse("198.18.0.2:51820")], [IPNetwork.Parse("10.62.0.0/16")], "gw");

    private static Device Path(string name, params Peer[] peers) => new() { Name = name, Type = DeviceType.Userspace, ListenPort = 51820, Peers = peers };

    [Fact]
    public void AMemberOnSeveralPaths_IsOneTunnel_WithTheNewestHandshake_AndTheBytesOfEveryPath()
    {
        var at = DateTimeOffset.Parse("2026-12-02T14:00:00Z");
        var fast = Path("wg-a", new Peer { PublicKey = West, Endpoint = IPEndPoint.Parse("198.18.0.2:51820"), LastHandshakeTime = at, ReceiveBytes = 100, TransmitBytes = 10, AllowedIPs = [IPNetwork.Parse("10.62.0.0/16")] });
        // The second path's device is the only one with a tunnel to south, and west's handshake there is newer.
        var slow = Path("wg-a-1",
            new Peer { PublicKey = West, Endpoint = IPEndPoint.Parse("198.18.1.2:51830"), LastHandshakeTime = at.AddSeconds(30), ReceiveBytes = 5, TransmitBytes = 7, AllowedIPs = [IPNetwork.Parse("10.62.0.0/16"), IPNetwork.Parse("fd7a::1/128")] },
            new Peer { PublicKey = South, Endpoint = IPEndPoint.Parse("198.18.2.2:51820"), LastHandshakeTime = null, ReceiveBytes = 0, TransmitBytes = 148 });
        var state = new GatewayState("east", "wg-a", 51820, at, [fast, slow], [Member("west", West), Member("south", South)], new Dictionary<RejectReason, long>());

        var west = state.PeerOf(Member("west", West))!;
        Assert.Equal((IPEndPoint.Parse("198.18.0.2:51820"), at.AddSeconds(30), 105L, 17L), (west.Endpoint, west.LastHandshakeTime, west.ReceiveBytes, west.TransmitBytes));
        Assert.Equal([IPNetwork.Parse("10.62.0.0/16"), IPNetwork.Parse("fd7a::1/128")], west.AllowedIPs);
        var south = state.PeerOf(Member("south", South))!;
        Assert.Equal((IPEndPoint.Parse("198.18.2.2:51820"), (DateTimeOffset?)null, 148L), (south.Endpoint, south.LastHandshakeTime, south.TransmitBytes));
        Assert.Null(state.PeerOf(Member("north", Key.GeneratePrivate().PublicKey())));
        Assert.Same(fast, state.Device);
    }
}
