using System.Net;
using System.Security.Cryptography;
using System.Text;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Tunnels;

namespace Patronus.Agent.Mesh.Tunnel;

/// <summary>
/// One WireGuard device of a gateway, and the WAN path it is: a gateway with uplinks on several WAN paths (two ISPs,
/// fiber and LTE, two lab links) runs one device per path, each listening on its own port, so that every path is a
/// tunnel of its own that pod traffic can be steered onto (by firewall mark, through the device's route table) and
/// that is probed on its own.
/// </summary>
/// <param name="Index">0 for the first device: the one whose routes sit in the main table, for traffic nobody steered.</param>
/// <param name="PathId">The path's name: the endpoint's name in <c>mesh-endpoints</c> (<c>fast=198.18.0.1:51820</c>; the lab names it after the WAN link), else the device's.</param>
/// <param name="LocalEndpoints">This gateway's announced endpoints served by this device (one port, one or more addresses).</param>
/// <param name="RouteTable">The table the device's routes go into for steered traffic; null with a single device (nothing to steer between).</param>
/// <param name="Mark">The firewall mark that sends a packet to <paramref name="RouteTable"/>; null with a single device.</param>
public sealed record TunnelDevice(int Index, string Interface, int ListenPort, string PathId, IReadOnlyList<IPEndPoint> LocalEndpoints, int? RouteTable, uint? Mark);

/// <summary>A path from this gateway to one remote gateway: the device it leaves by and where it arrives.</summary>
/// <param name="LocalEndpoint">This gateway's endpoint the remote one pairs with (on the shared network).</param>
/// <param name="RemoteEndpoint">The remote gateway's endpoint this device's peer sends to.</param>
public sealed record TunnelPath(TunnelDevice Device, IPEndPoint LocalEndpoint, Announcement Remote, IPEndPoint RemoteEndpoint)
{
    /// <summary>This gateway's address inside the path (on <see cref="Device"/>), from which it probes.</summary>
    public IPAddress LocalAddress(string memberId, string gateway) => TunnelDevices.TunnelAddress(memberId, gateway, LocalEndpoint);

    /// <summary>The remote gateway's address inside the path, where its probe responder answers.</summary>
    public IPAddress RemoteAddress => TunnelDevices.TunnelAddress(Remote.MemberId, Remote.Gateway, RemoteEndpoint);
}

/// <summary>
/// Pure planning of a gateway's devices and the paths they carry.
/// <list type="bullet">
/// <item>Endpoints are grouped by port: one device per port (a WireGuard device listens on one port on every address,
/// so two endpoints on one port are one device reached at two addresses, as a node's internal and external address
/// are). The first device keeps the configured name and port; device k is <c>NAME-k</c> (cut to fit 15 bytes).</item>
/// <item>A remote gateway is reached over every device that shares a network with one of its endpoints (a WAN link
/// both are on), at that endpoint. One that shares no network with any device (reached across the internet) is a peer
/// of the first device only, at its first endpoint: which of its addresses pairs with which of ours cannot be known.</item>
/// <item>Inside every path both ends have a tunnel address (an IPv6 ULA /128 derived from the member, the gateway
/// and the endpoint, so both sides compute it without asking and it survives key rotation): the path's probes go
/// from one to the other, through that path's tunnel and nowhere else.</item>
/// </list>
/// </summary>
public static class TunnelDevices
{
    /// <summary>Route tables of steered devices: <c>FirstRouteTable + index</c> (unused by iproute2's names and by Kubernetes' components).</summary>
    public const int FirstRouteTable = 7700;

    /// <summary>Marks of steered devices: <c>(index + 1) &lt;&lt; 16</c> within <see cref="MarkMask"/>, clear of kube-proxy's 0x4000 and 0x8000.</summary>
    public const uint MarkMask = 0x00ff0000;

    /// <summary>At most this many devices (WAN paths) per gateway: marks and tables stay within their ranges.</summary>
    public const int MaxDevices = 250;

    public static uint MarkOf(int index) => (uint)(index + 1) << 16;

    public static IReadOnlyList<TunnelDevice> Plan(string baseInterface, IReadOnlyList<IPEndPoint> endpoints, IReadOnlyDictionary<IPEndPoint, string>? names = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseInterface);
        var groups = endpoints.GroupBy(e => e.Port).ToList();
        if (groups.Count > MaxDevices)
            throw new ArgumentException($"{groups.Count} WireGuard ports: at most {MaxDevices} paths per gateway", nameof(endpoints));
        var steered = groups.Count > 1;
        var devices = new List<TunnelDevice>();
        for (var i = 0; i < groups.Count; i++)
        {
            var local = groups[i].ToArray();
            var name = DeviceNames.Of(baseInterface, i);
            var pathId = local.Select(e => names?.GetValueOrDefault(e)).FirstOrDefault(n => n is not null) ?? name;
            devices.Add(new TunnelDevice(i, name, groups[i].Key, pathId, local, steered ? FirstRouteTable + i : null, steered ? MarkOf(i) : null));
        }
        var duplicate = devices.GroupBy(d => d.PathId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"mesh-endpoints: the path name '{duplicate.Key}' is given to endpoints on two ports (one name per path)", nameof(names));
        return devices;
    }

    /// <summary>
    /// The paths to every remote gateway: over each device whose networks hold one of its endpoints, else over the
    /// first device (see the class). <paramref name="localNetworks"/> are the networks of this namespace's addresses.
    /// </summary>
    public static IReadOnlyList<TunnelPath> PathsTo(Announcement remote, IReadOnlyList<TunnelDevice> devices, IReadOnlyList<IPNetwork> localNetworks)
    {
        var paths = new List<TunnelPath>();
        foreach (var device in devices)
        {
            var networks = localNetworks.Where(n => device.LocalEndpoints.Any(e => n.Contains(e.Address))).ToArray();
            var shared = remote.Endpoints.FirstOrDefault(e => networks.Any(n => n.Contains(e.Address)));
            if (shared is null)
                continue;
            // Ours on the same network: the one the remote gateway pairs with when it plans from its side.
            var local = device.LocalEndpoints.FirstOrDefault(e => networks.Any(n => n.Contains(e.Address) && n.Contains(shared.Address))) ?? device.LocalEndpoints[0];
            paths.Add(new TunnelPath(device, local, remote, shared));
        }
        if (paths.Count == 0 && devices.Count > 0 && remote.Endpoints.Count > 0)
            paths.Add(new TunnelPath(devices[0], devices[0].LocalEndpoints[0], remote, remote.Endpoints[0]));
        return paths;
    }

    /// <summary>
    /// A gateway's address inside the path that arrives at <paramref name="endpoint"/>: <c>fd</c> and the first 15 bytes
    /// of SHA-256 over "patronus-tunnel", the member, the gateway and the endpoint. A unique local address (RFC 4193),
    /// never routed outside the tunnels and unlikely to meet another's (120 bits).
    /// </summary>
    public static IPAddress TunnelAddress(string memberId, string gateway, IPEndPoint endpoint)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"patronus-tunnel\n{memberId}\n{gateway}\n{endpoint}"));
        var bytes = new byte[16];
        bytes[0] = 0xfd;
        hash.AsSpan(0, 15).CopyTo(bytes.AsSpan(1));
        return new IPAddress(bytes);
    }
}
