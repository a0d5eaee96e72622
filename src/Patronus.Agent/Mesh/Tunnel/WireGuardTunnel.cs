using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Mesh.Peers;
using Patronus.Netlink;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh.Tunnel;

/// <summary>Where and how the gateway's WireGuard device runs.</summary>
public sealed record TunnelOptions
{
    /// <summary>The device's name. With wireguard-go its UAPI socket is /var/run/wireguard/NAME.sock, shared by every namespace on the machine: labs give each gateway its own name.</summary>
    public string Interface { get; init; } = "wg-sdwan";

    public int ListenPort { get; init; } = 51820;

    /// <summary>WireGuard's own default: 1500 less 80 bytes of IPv6, UDP and WireGuard headers.</summary>
    public int Mtu { get; init; } = 1420;

    public string WireGuardGo { get; init; } = "wireguard-go";

    public string SocketDirectory { get; init; } = "/var/run/wireguard";

    /// <summary>How often the device's key is replaced; zero never.</summary>
    public TimeSpan KeyRotation { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Where the kernel has no WireGuard, wireguard-go is started outside the agent (in a container of its own, so that
    /// it outlives the agent's container): the agent waits for its device and adopts it, and never creates or replaces
    /// it. The kernel's device needs no process, so where the module exists the agent creates it as usual.
    /// </summary>
    public bool ExternalDevice { get; init; }

    /// <summary>The paths' names, by this gateway's endpoint (<c>mesh-endpoints</c>' <c>NAME=ADDRESS:PORT</c>); see <see cref="TunnelDevice.PathId"/>.</summary>
    public IReadOnlyDictionary<IPEndPoint, string> PathNames { get; init; } = new Dictionary<IPEndPoint, string>();
}

/// <summary>
/// The gateway's WireGuard device: created once (the kernel's where the module exists, wireguard-go otherwise), or
/// with <see cref="TunnelOptions.ExternalDevice"/> waited for (wireguard-go started outside the agent), adopted as it
/// is when it already runs (it outlives the agent, so a restarted agent changes nothing and traffic
/// never stops), and kept matching the members: peers through the control protocol, routes to their prefixes
/// through rtnetlink (protocol <see cref="RouteProtocol.PatronusMesh"/>).
/// </summary>
public sealed partial class WireGuardTunnel : IDisposable
{
    /// <summary>
    /// The tunnel's routes yield to the routes feature's (metric 0 for IPv4, 1024 for IPv6): on a standby gateway the
    /// remote ranges go to the carrier gateway, and this device's routes take over only when those are withdrawn.
    /// </summary>
    public const int RouteMetric = 4096;

    private readonly TunnelOptions _options;
    private readonly NetNs _ns;
    private readonly ILogger _logger;
    private readonly WireGuardClient _client;
    private readonly RtNetlink _netlink;
    private bool _ensured;

    public WireGuardTunnel(TunnelOptions options, NetNs ns, ILogger<WireGuardTunnel> logger)
    {
        _options = options;
        _ns = ns;
        _logger = logger;
        _client = WireGuardClient.OpenIn(ns, new WireGuardClientOptions { SocketDirectory = options.SocketDirectory });
        _netlink = RtNetlink.OpenIn(ns);
    }

    public string Interface => _options.Interface;

    /// <summary>Makes sure the device runs with this key and port; true when it was created, false when adopted.</summary>
    public bool Ensure(Key privateKey)
    {
        var created = false;
        if (!Running())
        {
            if (_options.ExternalDevice && !_client.KernelAvailable)
            {
                // Not ours to start, nor to replace: a device without its socket may be one whose wireguard-go is starting.
                throw new InvalidOperationException(
                    $"waiting for the WireGuard device {_options.Interface}: it is started outside the agent (mesh-wireguard-go external: the patronus-wireguard container), and {Path.Combine(_options.SocketDirectory, _options.Interface + ".sock")} does not answer yet");
            }
            if (_netlink.LinkByName(_options.Interface) is { } stale)
            {
                // A device nobody serves (its wireguard-go died): it cannot be configured, so it is replaced.
                Log.StaleDeviceRemoved(_logger, _options.Interface);
                _netlink.LinkDel(stale.Index);
            }
            Create();
            created = true;
        }
        var device = _client.Device(_options.Interface);
        // Each only when it differs: wireguard-go closes and reopens its UDP socket whenever it is told a port, even
        // its own, and a key rotation must not make it deaf to the handshakes that follow.
        if (!Equals(device.PrivateKey, privateKey) || device.ListenPort != _options.ListenPort)
            _client.ConfigureDevice(_options.Interface, new DeviceConfig
            {
                PrivateKey = Equals(device.PrivateKey, privateKey) ? null : privateKey,
                ListenPort = device.ListenPort == _options.ListenPort ? null : _options.ListenPort,
            });
        var link = _netlink.LinkByName(_options.Interface) ?? throw new InvalidOperationException($"WireGuard device {_options.Interface} vanished");
        if (link.Mtu != _options.Mtu)
            _netlink.LinkSetMtu(link.Index, _options.Mtu);
        if (!link.IsUp)
            _netlink.LinkSetUp(link.Index);
        if (created)
            Log.Created(_logger, _options.Interface, _client.KernelAvailable ? "kernel" : "wireguard-go", _options.ListenPort);
        else if (!_ensured)
            Log.Adopted(_logger, _options.Interface); // once: every pass makes sure the device runs
        _ensured = true;
        return created;
    }

    /// <summary>The networks of this namespace's global addresses (the gateway's links): where a peer's endpoint is directly reachable.</summary>
    public IReadOnlyList<IPNetwork> LocalNetworks() =>
        _netlink.AddrList()
            .Where(a => a.Scope == 0)
            .Select(a => a.Address.Network())
            .Select(p => new IPNetwork(p.Address, p.PrefixLength))
            .Distinct()
            .ToArray();

    /// <summary>Removes the device and its routes: this node is no longer a gateway.</summary>
    public bool Remove()
    {
        if (_netlink.LinkByName(_options.Interface) is not { } link)
            return false;
        // Routes through the device go with it; wireguard-go exits when its device is deleted.
        _netlink.LinkDel(link.Index);
        return true;
    }

    /// <summary>The device as it is now (peers, handshakes, counters); its private key is redacted when printed.</summary>
    public Device Read() => _client.Device(_options.Interface);

    /// <summary>
    /// Replaces each peer that <paramref name="stalled"/> picks by itself, in one device change: the same endpoint,
    /// keepalive and allowed IPs, but a fresh handshake state, so it initiates a handshake at once instead of waiting
    /// out WireGuard's retry timer. Returns how many peers were replaced.
    /// </summary>
    public int RestartHandshakes(Func<Peer, bool> stalled)
    {
        var peers = Read().Peers.Where(stalled).ToList();
        if (peers.Count == 0)
            return 0;
        var changes = new List<PeerConfig>();
        foreach (var peer in peers)
        {
            changes.Add(new PeerConfig { PublicKey = peer.PublicKey, Remove = true });
            changes.Add(new PeerConfig
            {
                PublicKey = peer.PublicKey,
                PresharedKey = peer.PresharedKey,
                Endpoint = peer.Endpoint,
                PersistentKeepaliveInterval = peer.PersistentKeepaliveInterval,
                ReplaceAllowedIPs = true,
                AllowedIPs = peer.AllowedIPs,
            });
        }
        _client.ConfigureDevice(_options.Interface, new DeviceConfig { Peers = changes });
        return peers.Count;
    }

    /// <summary>
    /// Applies a plan made from <see cref="Read"/>; returns how many changes the kernel or wireguard-go saw.
    /// <paramref name="mainRoutes"/> go into the main table (what nobody steered takes), every prefix the device
    /// carries into <paramref name="routeTable"/> (where steered traffic looks), the remote gateways' tunnel addresses
    /// into the main table, and <paramref name="tunnelAddresses"/> (this gateway's own inside the device's paths) onto
    /// the device. Only this device's routes and addresses are read and changed: the other devices keep theirs.
    /// </summary>
    public int Apply(PeerPlan plan, IReadOnlyList<IPNetwork> mainRoutes, int? routeTable, IReadOnlyList<IPAddress> tunnelAddresses)
    {
        var changed = 0;
        if (plan.Changes.Count > 0)
        {
            _client.ConfigureDevice(_options.Interface, new DeviceConfig { Peers = plan.Changes });
            changed += plan.Changes.Count;
        }
        var link = _netlink.LinkByName(_options.Interface) ?? throw new InvalidOperationException($"WireGuard device {_options.Interface} vanished");
        changed += ApplyAddresses(link.Index, tunnelAddresses);
        changed += ApplyRoutes(link.Index, Route.MainTable, mainRoutes.Concat(plan.TunnelRoutes));
        if (routeTable is { } table)
            changed += ApplyRoutes(link.Index, table, plan.Routes);
        return changed;
    }

    private int ApplyRoutes(int linkIndex, int table, IEnumerable<IPNetwork> destinations)
    {
        var changed = 0;
        var wanted = destinations.Select(p => new IpPrefix(p.BaseAddress, p.PrefixLength)).ToHashSet();
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            foreach (var route in _netlink.RouteList(family, table: table, protocol: RouteProtocol.PatronusMesh))
            {
                // Another device's routes are its own business; in a table of its own, a route elsewhere is stale.
                if (route.LinkIndex != linkIndex && table == Route.MainTable)
                    continue;
                if (route.LinkIndex != linkIndex || route.Metric != RouteMetric || !wanted.Remove(route.Destination))
                {
                    _netlink.RouteDel(route);
                    changed++;
                }
            }
        }
        foreach (var destination in wanted)
        {
            _netlink.RouteReplace(new Route { Destination = destination, LinkIndex = linkIndex, Scope = RouteScope.Link, Protocol = RouteProtocol.PatronusMesh, Metric = RouteMetric, Table = table });
            changed++;
        }
        return changed;
    }

    /// <summary>The device's addresses are exactly this gateway's tunnel addresses (the device is the mesh's alone).</summary>
    private int ApplyAddresses(int linkIndex, IReadOnlyList<IPAddress> addresses)
    {
        var changed = 0;
        var wanted = addresses.Select(a => new IpPrefix(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)).ToHashSet();
        foreach (var address in _netlink.AddrList(linkIndex))
        {
            // The kernel's own link-local address stays.
            if (address.Address.Family == AddressFamily.InterNetworkV6 && address.Address.Address.IsIPv6LinkLocal)
                continue;
            if (!wanted.Remove(address.Address))
            {
                _netlink.AddrDel(linkIndex, address.Address);
                changed++;
            }
        }
        foreach (var address in wanted)
        {
            // No duplicate address detection: nobody else can hold an address inside our tunnel, and DAD would keep it
            // tentative (unusable) for a second.
            _netlink.AddrAdd(linkIndex, address, AddressFlags.NoDad);
            changed++;
        }
        return changed;
    }

    private bool Running()
    {
        if (_netlink.LinkByName(_options.Interface) is null)
            return false;
        try
        {
            _client.Device(_options.Interface);
            return true;
        }
        catch (WireGuardException)
        {
            return false;
        }
    }

    private void Create()
    {
        if (_client.KernelAvailable)
        {
            _netlink.LinkAddWireGuard(_options.Interface);
            return;
        }
        // wireguard-go daemonizes: its parent returns once the device and its UAPI socket exist, and the daemon is
        // nobody's child, so it outlives this agent (and a kill -9 of it) with its tunnels. Started from a thread
        // inside the namespace, whose network namespace the child inherits.
        var result = _ns.Run(() =>
        {
            var start = new ProcessStartInfo(_options.WireGuardGo, [_options.Interface])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // Silent: the daemon then keeps no descriptor of our pipes (it would block the read below, and a write to
            // a closed pipe later would kill it with SIGPIPE). Its parent still prints why it could not start.
            start.Environment["LOG_LEVEL"] = "silent";
            try
            {
                using var process = Process.Start(start)!;
                var stderr = process.StandardError.ReadToEndAsync();
                process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                return (ExitCode: process.ExitCode, Error: stderr.Result.Trim());
            }
            catch (Win32Exception e)
            {
                return (ExitCode: -1, Error: $"cannot start {_options.WireGuardGo}: {e.Message}");
            }
        });
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"wireguard-go could not create {_options.Interface} (exit {result.ExitCode}): {result.Error}");
        if (!Running())
            throw new InvalidOperationException($"wireguard-go created {_options.Interface} but does not answer on {Path.Combine(_options.SocketDirectory, _options.Interface + ".sock")}");
    }

    public void Dispose()
    {
        _client.Dispose();
        _netlink.Dispose();
    }
}
