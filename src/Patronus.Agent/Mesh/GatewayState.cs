using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh;

/// <summary>A gateway as it is: its device (peers, handshakes, counters) and the members it has verified.</summary>
public sealed record GatewayState(
    string MemberId,
    string Interface,
    int ListenPort,
    DateTimeOffset KeyCreated,
    Device Device,
    IReadOnlyCollection<Announcement> Members,
    IReadOnlyDictionary<RejectReason, long> Rejected)
{
    /// <summary>The device's peer for a member (by the key it announced), if it has one yet.</summary>
    public Peer? PeerOf(Announcement member)
    {
        var key = Key.FromBytes(KeyKind.Public, member.WireGuardKey);
        return Device.Peers.FirstOrDefault(p => p.PublicKey.Equals(key));
    }
}
