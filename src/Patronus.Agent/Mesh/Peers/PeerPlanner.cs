using System.Net;
using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh.Peers;

/// <summary>The WireGuard changes that make a device's peers match the members, and the prefixes to route into it.</summary>
/// <param name="Changes">Per-peer changes, empty when the device already matches: peers that stay are never removed and re-added (that would drop their sessions).</param>
/// <param name="Carriers">For every member, the gateway whose peer carries the member's prefixes.</param>
public sealed record PeerPlan(IReadOnlyList<PeerConfig> Changes, IReadOnlyList<IPNetwork> Routes, IReadOnlyDictionary<string, string> Carriers);

/// <summary>
/// Verified announcements → WireGuard peers. Pure: the tunnel reads the device, asks for a plan and applies it.
/// One peer per gateway of every member, keyed by the WireGuard key it announced, with one endpoint: the first on a
/// network this gateway is attached to, else its first (a member on several WAN links announces an address on each;
/// only the ones on a shared link, or public ones, are reachable). A member that moves its endpoint keeps its
/// session: WireGuard roams.
/// <para>
/// WireGuard routes a prefix to one peer only, so a member's prefixes are the allowed IPs of one of its gateways'
/// peers: the first live one by name (the carrier; the first by name when none is known live, so a start or a
/// liveness blind spot never leaves a member unrouted). The member's other gateways are peers with no allowed IPs:
/// their sessions stay warm (keepalive), and when the carrier dies its prefixes move to the next live one in the
/// same device change, one UAPI set. Cryptokey routing then refuses any packet from a gateway whose source is not
/// what it carries; every node of a member picks the same carrier from the same names, so traffic goes out through
/// the gateway that is allowed to bring it back.
/// </para>
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
    /// <param name="isLive">Whether a gateway answers its liveness probes; null takes every gateway as live.</param>
    public static PeerPlan Plan(IReadOnlyCollection<Announcement> members, IReadOnlyList<Peer> current, bool keepUnknownPeers = false,
        IReadOnlyList<IPNetwork>? localNetworks = null, Func<Announcer, bool>? isLive = null)
    {
        var changes = new List<PeerConfig>();
        var wanted = new Dictionary<Key, Announcement>();
        foreach (var gateway in members.OrderBy(m => m.MemberId, StringComparer.Ordinal).ThenBy(m => m.Gateway, StringComparer.Ordinal))
        {
            var key = Key.FromBytes(KeyKind.Public, gateway.WireGuardKey);
            // Two gateways announcing one WireGuard key cannot both be reached: the first by name keeps it, deterministically.
            wanted.TryAdd(key, gateway);
        }
        var carriers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var member in wanted.Values.GroupBy(g => g.MemberId))
        {
            var byName = member.OrderBy(g => g.Gateway, StringComparer.Ordinal).ToList();
            var carrier = byName.FirstOrDefault(g => isLive?.Invoke(g.Announcer) ?? true) ?? byName[0];
            carriers[member.Key] = carrier.Gateway;
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
        foreach (var (key, gateway) in wanted)
        {
            IReadOnlyList<IPNetwork> prefixes = carriers[gateway.MemberId] == gateway.Gateway
                ? gateway.Prefixes.OrderBy(p => p.ToString(), StringComparer.Ordinal).ToArray()
                : [];
            var endpoint = EndpointOf(gateway, localNetworks);
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
        // A prefix moving from one peer to another (a failover, a rotated key) moves in one device change, the peer
        // taking it first: WireGuard hands a prefix set on one peer over from the peer that held it, so no packet
        // finds the prefix on no peer. The peer giving it up (emptied or removed) comes after and finds it gone.
        changes = [.. changes.OrderBy(c => c.Remove ? 2 : c.AllowedIPs.Count == 0 ? 1 : 0)];
        var routes = wanted.Values.SelectMany(m => m.Prefixes).Concat(kept).Distinct().OrderBy(p => p.ToString(), StringComparer.Ordinal).ToArray();
        return new PeerPlan(changes, routes, carriers);
    }

    /// <summary>Where a gateway is reached: its first endpoint on a network this gateway is attached to, else its first.</summary>
    public static IPEndPoint? EndpointOf(Announcement gateway, IReadOnlyList<IPNetwork>? localNetworks) =>
        gateway.Endpoints.FirstOrDefault(e => localNetworks?.Any(n => n.Contains(e.Address)) == true) ?? gateway.Endpoints.FirstOrDefault();
}
