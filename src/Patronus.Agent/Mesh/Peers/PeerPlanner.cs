using System.Net;
using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh.Peers;

/// <summary>The WireGuard changes that make a device's peers match the members, and the prefixes to route into it.</summary>
/// <param name="Changes">Per-peer changes, empty when the device already matches: peers that stay are never removed and re-added (that would drop their sessions).</param>
public sealed record PeerPlan(IReadOnlyList<PeerConfig> Changes, IReadOnlyList<IPNetwork> Routes);

/// <summary>
/// Verified announcements → WireGuard peers. Pure: the tunnel reads the device, asks for a plan and applies it.
/// One peer per member, keyed by the WireGuard key it announced, with its prefixes as allowed IPs (WireGuard's
/// cryptokey routing then refuses any packet from the member whose source is outside them) and one endpoint: the
/// first on a network this gateway is attached to, else its first (a member on several WAN links announces an
/// address on each; only the ones on a shared link, or public ones, are reachable). A member that moves its
/// endpoint keeps its session: WireGuard roams.
/// </summary>
public static class PeerPlanner
{
    /// <summary>Keeps a path through NAT and stateful firewalls open, as wg-quick users set it.</summary>
    public static readonly TimeSpan Keepalive = TimeSpan.FromSeconds(25);

    /// <param name="keepUnknownPeers">
    /// Keep peers no member accounts for (with their routes). A restarted agent adopts a device whose peers it has
    /// not heard announce yet: removing them until they do would cut traffic the agent's death did not.
    /// </param>
    /// <param name="localNetworks">The networks of this gateway's own addresses: an endpoint in one is on a shared link.</param>
    public static PeerPlan Plan(IReadOnlyCollection<Announcement> members, IReadOnlyList<Peer> current, bool keepUnknownPeers = false, IReadOnlyList<IPNetwork>? localNetworks = null)
    {
        var changes = new List<PeerConfig>();
        var wanted = new Dictionary<Key, Announcement>();
        foreach (var member in members.OrderBy(m => m.MemberId, StringComparer.Ordinal))
        {
            var key = Key.FromBytes(KeyKind.Public, member.WireGuardKey);
            // Two members announcing one WireGuard key cannot both be reached: the first by id keeps it, deterministically.
            wanted.TryAdd(key, member);
        }

        var kept = new List<IPNetwork>();
        foreach (var peer in current)
        {
            if (wanted.ContainsKey(peer.PublicKey))
                continue;
            if (keepUnknownPeers)
                kept.AddRange(peer.AllowedIPs);
            else
                changes.Add(new PeerConfig { PublicKey = peer.PublicKey, Remove = true });
        }
        foreach (var (key, member) in wanted)
        {
            var prefixes = member.Prefixes.OrderBy(p => p.ToString(), StringComparer.Ordinal).ToArray();
            var endpoint = member.Endpoints.FirstOrDefault(e => localNetworks?.Any(n => n.Contains(e.Address)) == true) ?? member.Endpoints.FirstOrDefault();
            var have = current.FirstOrDefault(p => p.PublicKey.Equals(key));
            if (have is not null
                && have.AllowedIPs.OrderBy(p => p.ToString(), StringComparer.Ordinal).SequenceEqual(prefixes)
                && have.PersistentKeepaliveInterval == Keepalive
                && (endpoint is null || endpoint.Equals(have.Endpoint)))
            {
                continue;
            }
            changes.Add(new PeerConfig
            {
                PublicKey = key,
                Endpoint = endpoint,
                PersistentKeepaliveInterval = Keepalive,
                ReplaceAllowedIPs = true,
                AllowedIPs = prefixes,
            });
        }
        var routes = wanted.Values.SelectMany(m => m.Prefixes).Concat(kept).Distinct().OrderBy(p => p.ToString(), StringComparer.Ordinal).ToArray();
        return new PeerPlan(changes, routes);
    }
}
