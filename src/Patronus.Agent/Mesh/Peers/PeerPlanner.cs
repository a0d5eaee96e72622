using System.Net;
using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh.Peers;

/// <summary>The WireGuard changes that make a device's peers match the members, and the prefixes to route into it.</summary>
/// <param name="Changes">Per-peer changes, empty when the device already matches: peers that stay are never removed and re-added (that would drop their sessions).</param>
/// <param name="Carriers">For every member, the gateway whose peer carries the member's prefixes.</param>
/// <param name="Routes">Every prefix this device carries (members' prefixes, and what kept unknown peers had).</param>
/// <param name="RoutesByMember">The members' prefixes this device carries, by member (a member whose carrier is not a peer of this device has none here).</param>
/// <param name="TunnelRoutes">The remote gateways' tunnel addresses (/128) this device reaches: their probe responders inside the path.</param>
public sealed record PeerPlan(IReadOnlyList<PeerConfig> Changes, IReadOnlyList<IPNetwork> Routes, IReadOnlyDictionary<string, string> Carriers)
{
    public IReadOnlyDictionary<string, IReadOnlyList<IPNetwork>> RoutesByMember { get; init; } = new Dictionary<string, IReadOnlyList<IPNetwork>>();

    public IReadOnlyList<IPNetwork> TunnelRoutes { get; init; } = [];
}

/// <summary>How one device of several sees the members: which gateways it reaches, where, and their address inside the path.</summary>
/// <param name="EndpointOf">The gateway's endpoint on this device's path; null when this device has no path to it (it is not a peer here).</param>
/// <param name="TunnelAddressOf">The gateway's tunnel address on this path (allowed and routed as a /128); null for none.</param>
public sealed record DeviceView(Func<Announcement, IPEndPoint?> EndpointOf, Func<Announcement, IPAddress?> TunnelAddressOf);

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
    /// <param name="device">With several devices (one per WAN path), which gateways this one reaches; null: all, at <see cref="EndpointOf"/>.</param>
    public static PeerPlan Plan(IReadOnlyCollection<Announcement> members, IReadOnlyList<Peer> current, bool keepUnknownPeers = false,
        IReadOnlyList<IPNetwork>? localNetworks = null, Func<Announcer, bool>? isLive = null, DeviceView? device = null)
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

        // Carriers are chosen among all of a member's gateways, so every device agrees; a device then peers only with
        // the gateways it has a path to.
        var endpoints = wanted.ToDictionary(w => w.Key, w => device is null ? EndpointOf(w.Value, localNetworks) : device.EndpointOf(w.Value));
        if (device is not null)
        {
            foreach (var unreachable in endpoints.Where(e => e.Value is null).Select(e => e.Key).ToList())
                wanted.Remove(unreachable);
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
        var byMember = new Dictionary<string, IReadOnlyList<IPNetwork>>(StringComparer.Ordinal);
        var tunnelRoutes = new List<IPNetwork>();
        foreach (var (key, gateway) in wanted)
        {
            var carries = carriers[gateway.MemberId] == gateway.Gateway;
            var tunnelAddress = device?.TunnelAddressOf(gateway) is { } inside
                ? new IPNetwork(inside, inside.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
                : (IPNetwork?)null;
            IReadOnlyList<IPNetwork> prefixes = (carries ? gateway.Prefixes : [])
                .Concat(tunnelAddress is { } host ? [host] : [])
                .OrderBy(p => p.ToString(), StringComparer.Ordinal).ToArray();
            if (carries)
                byMember[gateway.MemberId] = gateway.Prefixes;
            if (tunnelAddress is { } route)
                tunnelRoutes.Add(route);
            var endpoint = endpoints[key];
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
        // Without a device view every member is routed here (one device reaches all); with one, only those it carries.
        var routed = device is null ? wanted.Values.SelectMany(m => m.Prefixes) : byMember.Values.SelectMany(p => p);
        var routes = routed.Concat(kept).Distinct().OrderBy(p => p.ToString(), StringComparer.Ordinal).ToArray();
        return new PeerPlan(changes, routes, carriers)
        {
            RoutesByMember = byMember,
            TunnelRoutes = [.. tunnelRoutes.Distinct().OrderBy(p => p.ToString(), StringComparer.Ordinal)],
        };
    }

    /// <summary>Where a gateway is reached: its first endpoint on a network this gateway is attached to, else its first.</summary>
    public static IPEndPoint? EndpointOf(Announcement gateway, IReadOnlyList<IPNetwork>? localNetworks) =>
        gateway.Endpoints.FirstOrDefault(e => localNetworks?.Any(n => n.Contains(e.Address)) == true) ?? gateway.Endpoints.FirstOrDefault();
}
