using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh;

/// <summary>
/// A gateway as it is: its devices, one per WAN path, the first being the gateway's own (its key, its port), with their
/// peers, handshakes and counters; and the members it has verified.
/// </summary>
public sealed record GatewayState(
    string MemberId,
    string Interface,
    int ListenPort,
    DateTimeOffset KeyCreated,
    IReadOnlyList<Device> Devices,
    IReadOnlyCollection<Announcement> Members,
    IReadOnlyDictionary<RejectReason, long> Rejected)
{
    /// <summary>The gateway's first device, whose key and port it announces.</summary>
    public Device Device => Devices[0];

    /// <summary>
    /// The member's tunnel, if the devices have a peer for it yet (by the key it announced). A member sharing several
    /// paths with us is a peer of each path's device; to an operator that is one tunnel: reached at the first path's
    /// endpoint, with the newest handshake of any path and the bytes of all of them.
    /// </summary>
    public Peer? PeerOf(Announcement member)
    {
        var key = Key.FromBytes(KeyKind.Public, member.WireGuardKey);
        var peers = Devices.SelectMany(d => d.Peers).Where(p => p.PublicKey.Equals(key)).ToList();
        if (peers.Count == 0)
            return null;
        return peers[0] with
        {
            LastHandshakeTime = peers.Max(p => p.LastHandshakeTime),
            ReceiveBytes = peers.Sum(p => p.ReceiveBytes),
            TransmitBytes = peers.Sum(p => p.TransmitBytes),
            AllowedIPs = peers.SelectMany(p => p.AllowedIPs).Distinct().ToArray(),
        };
    }
}
