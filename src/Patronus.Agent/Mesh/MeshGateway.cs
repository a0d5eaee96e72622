using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Mesh.Discovery;
using Patronus.Agent.Mesh.Liveness;
using Patronus.Agent.Mesh.Peers;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Agent.Paths;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Patronus.Netlink;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh;

/// <summary>What this gateway announces of itself.</summary>
/// <param name="Endpoints">Where the other members reach this gateway's WireGuard port (its public or WAN addresses).</param>
/// <param name="Prefixes">The ranges behind it: the cluster's pod and service ranges, or a site's networks.</param>
/// <param name="Gateway">Its name among its cluster's gateways: the Node's name (a site's own name).</param>
/// <param name="ProbePort">Where it answers liveness probes (on every address); 0 for no responder.</param>
public sealed record GatewayAnnouncement(IReadOnlyList<IPEndPoint> Endpoints, IReadOnlyList<IPNetwork> Prefixes, string Gateway, int ProbePort = 0);

/// <summary>
/// A gateway of the mesh: runs the WireGuard device, announces itself, and keeps the device's peers and routes
/// matching the members it has verified. Level-triggered: each pass reads the device as it is and changes only
/// what differs, so a restart, a missed event or someone removing a peer all end the same way.
/// </summary>
public sealed partial class MeshGateway : IDisposable
{
    private readonly MemberIdentity _identity;
    private readonly IReadOnlyList<(TunnelDevice Device, WireGuardTunnel Tunnel)> _tunnels;
    private readonly WireGuardTunnel _tunnel;
    private IReadOnlyList<TunnelPath> _paths = [];
    private readonly AnnouncementExchange _exchange;
    private readonly ProbeResponder? _responder;
    private readonly GatewayLiveness _liveness;
    private IReadOnlyDictionary<string, string> _carriers = new Dictionary<string, string>();
    private volatile bool _carries;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly TimeSpan _adoptionGrace;
    private readonly TimeSpan _keyRotation;
    private readonly NetNs _ns;
    private readonly Lock _deviceLock = new();
    private volatile TaskCompletionSource? _rotationRequest;
    private DateTimeOffset _adoptedUntil;
    private DateTimeOffset? _rotatedAt;
    private volatile byte[] _announcedKey;
    private DateTimeOffset _nextHandshakeCheck;
    private bool _clampInstalled;

    public MeshGateway(MemberIdentity identity, MeshTrust trust, GatewayAnnouncement announcement, DiscoveryOptions discovery, TunnelOptions tunnel, NetNs ns, ILoggerFactory loggers,
        TimeProvider? time = null, PathHealthOptions? liveness = null)
    {
        _identity = identity;
        Announced = announcement;
        _ns = ns;
        _keyRotation = tunnel.KeyRotation;
        _logger = loggers.CreateLogger<MeshGateway>();
        _time = time ?? TimeProvider.System;
        // As long as a member's announcement stays valid: by then every live member has announced again.
        _adoptionGrace = trust.MaxAge;
        Devices = TunnelDevices.Plan(tunnel.Interface, announcement.Endpoints.Count > 0 ? announcement.Endpoints : [new IPEndPoint(IPAddress.Any, tunnel.ListenPort)], tunnel.PathNames);
        var tunnels = new List<(TunnelDevice, WireGuardTunnel)>();
        try
        {
            foreach (var device in Devices)
                tunnels.Add((device, new WireGuardTunnel(tunnel with { Interface = device.Interface, ListenPort = device.ListenPort }, ns, loggers.CreateLogger<WireGuardTunnel>())));
        }
        catch
        {
            foreach (var (_, opened) in tunnels)
                opened.Dispose();
            throw;
        }
        _tunnels = tunnels;
        _tunnel = _tunnels[0].Tunnel;
        // The key is read at every announcement, and it is the one every device runs with: announced before the devices
        // hold it (a rotation sets it on one device after another), members' handshakes would fail until WireGuard's
        // 5 s retry.
        _announcedKey = identity.WireGuardPrivateKey.PublicKey().Bytes.ToArray();
        _exchange = new AnnouncementExchange(discovery, identity, trust,
            () => new Announcement(identity.Certificate, 0, default, _announcedKey, announcement.Endpoints, announcement.Prefixes,
                announcement.Gateway, announcement.ProbePort),
            ns, loggers.CreateLogger<AnnouncementExchange>(), time);
        _exchange.MembersChanged += () => _wake.Writer.TryWrite(true);
        try
        {
            // Answers this cluster's nodes (which gateway to route through) and the remote gateways (which peer carries our prefixes).
            if (announcement.ProbePort > 0)
                _responder = new ProbeResponder(new IPEndPoint(IPAddress.IPv6Any, announcement.ProbePort), ns, loggers.CreateLogger<ProbeResponder>());
            _liveness = new GatewayLiveness("remote", liveness ?? new PathHealthOptions(), ns, loggers, time);
        }
        catch
        {
            _responder?.Dispose();
            _exchange.Dispose();
            foreach (var (_, opened) in _tunnels)
                opened.Dispose();
            throw;
        }
        // A remote gateway going dead or live moves prefixes between peers at once, not at the next resync.
        _liveness.Changed += () => _wake.Writer.TryWrite(true);
    }

    /// <summary>Which remote gateways answer their probes.</summary>
    public GatewayLiveness Liveness => _liveness;

    /// <summary>For every member, the gateway whose peer carries its prefixes (as last planned).</summary>
    public IReadOnlyDictionary<string, string> Carriers => _carriers;

    /// <summary>Completes once the device runs and has been matched to the members once.</summary>
    public Task Ready => _ready.Task;

    public AnnouncementExchange Exchange => _exchange;

    /// <summary>What this gateway announces of itself.</summary>
    public GatewayAnnouncement Announced { get; }

    /// <summary>The first device: the one unsteered traffic takes, and the one <c>mesh status</c> shows.</summary>
    public WireGuardTunnel Tunnel => _tunnel;

    /// <summary>This gateway's devices, one per WAN path (one port).</summary>
    public IReadOnlyList<TunnelDevice> Devices { get; }

    /// <summary>Every path to every remote gateway, as last planned.</summary>
    public IReadOnlyList<TunnelPath> Paths => _paths;

    /// <summary>Raised (on the gateway's loop) when <see cref="Paths"/> or <see cref="Carriers"/> changed.</summary>
    public event Action? PathsChanged;

    /// <summary>The network namespace the gateway's devices live in.</summary>
    public NetNs Namespace => _ns;

    /// <summary>How many bytes each device has sent, by interface (its peers' counters summed): how busy each path is.</summary>
    public IReadOnlyDictionary<string, long> TransmittedBytes()
    {
        var sent = new Dictionary<string, long>(StringComparer.Ordinal);
        lock (_deviceLock)
        {
            foreach (var (device, tunnel) in _tunnels)
            {
                try
                {
                    sent[device.Interface] = tunnel.Read().Peers.Sum(p => p.TransmitBytes);
                }
                catch (WireGuardException)
                {
                    // Restarting: its next pass brings it back.
                }
            }
        }
        return sent;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Nothing is announced before the device runs: a member told of a key no device holds would send into nothing.
        Task? exchanging = null;
        var probing = _liveness.RunAsync(cancellationToken);
        Task? answering = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                while (_wake.Reader.TryRead(out _))
                {
                }
                try
                {
                    if (exchanging is null)
                    {
                        lock (_deviceLock)
                        {
                            if (!EnsureDevices(_identity.WireGuardPrivateKey))
                                _adoptedUntil = _time.GetUtcNow() + _adoptionGrace;
                        }
                        exchanging = _exchange.RunAsync(cancellationToken);
                    }
                    if (_rotationRequest is not null || RotationDue())
                        await RotateAsync(cancellationToken).ConfigureAwait(false);
                    Reconcile();
                    RestartStalledHandshakes();
                    _ready.TrySetResult();
                    // Live only once it can carry something: a gateway (re)started with no member known yet would
                    // draw traffic to a device without peers until the members' next announcements.
                    if (answering is null && _responder is not null && _carries)
                    {
                        answering = _responder.RunAsync(cancellationToken);
                        Log.Answering(_logger, _responder.LocalEndPoint.Port);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The next pass starts again from the device as it is.
                    Log.ReconcileFailed(_logger, e.Message);
                    if (Interlocked.Exchange(ref _rotationRequest, null) is { } failed)
                        failed.TrySetException(e);
                }
                using var resync = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                resync.CancelAfter(exchanging is null ? TimeSpan.FromSeconds(5) : NextWake());
                try
                {
                    await _wake.Reader.WaitToReadAsync(resync.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        if (exchanging is not null)
            await exchanging.ConfigureAwait(false);
        await probing.ConfigureAwait(false);
        if (answering is not null)
            await answering.ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the WireGuard key now (<c>patronus mesh rotate-keys</c>); completes once the device runs with the
    /// new key and the members have been told.
    /// </summary>
    public Task RotateKeysAsync()
    {
        var request = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = Interlocked.CompareExchange(ref _rotationRequest, request, null) ?? request;
        _wake.Writer.TryWrite(true);
        return pending.Task;
    }

    /// <summary>
    /// The device as it is, with what each member announced. Safe to call from any thread (status, metrics).
    /// </summary>
    public GatewayState State()
    {
        var devices = new List<Device>();
        lock (_deviceLock)
        {
            devices.Add(_tunnel.Read());
            // Another path's device may be missing for a moment (started outside the agent, or being replaced): the
            // gateway is still what its first device says, less that path's peers.
            foreach (var (_, tunnel) in _tunnels.Skip(1))
            {
                try
                {
                    devices.Add(tunnel.Read());
                }
                catch (Exception e) when (e is WireGuardException or IOException)
                {
                }
            }
        }
        return new GatewayState(_identity.MemberId, _tunnel.Interface, devices[0].ListenPort, _identity.WireGuardKeyCreated, devices, _exchange.Members, _exchange.Rejected);
    }

    private bool RotationDue() => _keyRotation > TimeSpan.Zero && _time.GetUtcNow() - _identity.WireGuardKeyCreated >= _keyRotation;

    private TimeSpan NextWake()
    {
        var wake = TimeSpan.FromSeconds(10);
        if (_rotatedAt is not null)
        {
            var check = _nextHandshakeCheck - _time.GetUtcNow();
            wake = check < wake ? check : wake;
        }
        if (_keyRotation > TimeSpan.Zero)
        {
            var due = _identity.WireGuardKeyCreated + _keyRotation - _time.GetUtcNow();
            wake = due < wake ? due : wake;
        }
        return wake > TimeSpan.FromMilliseconds(10) ? wake : TimeSpan.FromMilliseconds(10);
    }

    /// <summary>
    /// The new key is on disk, then in the device, then announced at once (three times, a few milliseconds apart, so
    /// one lost datagram does not cost a whole announcement interval). Members replace our peer when the
    /// announcement arrives and their new peer starts a handshake at once (it has a keepalive), so traffic waits
    /// for one announcement and one handshake, not for WireGuard's five-second handshake retry.
    /// </summary>
    private async Task RotateAsync(CancellationToken cancellationToken)
    {
        var request = Interlocked.Exchange(ref _rotationRequest, null);
        lock (_deviceLock)
        {
            var key = _identity.RotateWireGuardKey();
            EnsureDevices(key);
        }
        Log.KeyRotated(_logger, _tunnel.Interface, request is null ? "schedule" : "request");
        // WireGuard's clock, not ours: handshake times are read back from the device in wall-clock time.
        _rotatedAt = DateTimeOffset.UtcNow;
        _nextHandshakeCheck = _time.GetUtcNow() + HandshakeCheckAfterRotation;
        // Announced even when the agent is stopping meanwhile: the device already runs with the new key, and members
        // that never hear it would have no tunnel until the next agent announces (WireGuard outlives the agent).
        for (var i = 0; i < 3; i++)
        {
            await _exchange.AnnounceAsync(CancellationToken.None).ConfigureAwait(false);
            if (i < 2)
                await Task.Delay(TimeSpan.FromMilliseconds(20), _time, CancellationToken.None).ConfigureAwait(false);
        }
        request?.TrySetResult();
    }

    /// <summary>How long after a rotation a peer may go without a handshake before ours starts again (one normally takes a few tens of ms).</summary>
    internal static readonly TimeSpan HandshakeCheckAfterRotation = TimeSpan.FromMilliseconds(300);

    /// <summary>How long after a rotation handshakes are watched.</summary>
    internal static readonly TimeSpan HandshakeWatchAfterRotation = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A rotation's handshakes, made sure of. Our first initiation with the new key reaches members before they know it
    /// and is dropped; their new peer's initiation normally completes the handshake at once. Should that one be lost,
    /// WireGuard would only try again after REKEY_TIMEOUT (5 s), and our own retry is held back as long: seen under load,
    /// a 5 s gap. So a peer still without a handshake since the rotation is replaced by itself (same endpoint, keepalive
    /// and allowed IPs, in one device change): a fresh peer initiates at once, to a member that knows the key by now.
    /// </summary>
    private void RestartStalledHandshakes()
    {
        if (_rotatedAt is not { } rotated || _time.GetUtcNow() < _nextHandshakeCheck)
            return;
        var elapsed = DateTimeOffset.UtcNow - rotated;
        if (elapsed > HandshakeWatchAfterRotation)
        {
            _rotatedAt = null;
            return;
        }
        _nextHandshakeCheck = _time.GetUtcNow() + HandshakeCheckAfterRotation;
        var stalled = 0;
        lock (_deviceLock)
        {
            foreach (var (_, tunnel) in _tunnels)
            {
                var restarted = tunnel.RestartHandshakes(peer => peer.LastHandshakeTime is not { } at || at < rotated);
                if (restarted > 0)
                    Log.HandshakesRestarted(_logger, restarted, tunnel.Interface, elapsed.TotalMilliseconds);
                stalled += restarted;
            }
        }
        if (stalled == 0)
            _rotatedAt = null;
    }

    /// <summary>Every device runs with this key (one key for all: each device is the same gateway on another path); false when all were adopted.</summary>
    private bool EnsureDevices(Key key)
    {
        var created = false;
        foreach (var (_, tunnel) in _tunnels)
            created |= tunnel.Ensure(key);
        _announcedKey = key.PublicKey().Bytes.ToArray();
        return created;
    }

    private void Reconcile()
    {
        lock (_deviceLock)
        {
            // The devices themselves may have been restarted or removed: make sure they run before matching their peers.
            EnsureDevices(_identity.WireGuardPrivateKey);
            var adopting = _time.GetUtcNow() < _adoptedUntil;
            var changes = 0;
            // Before any peer: no segment may cross the tunnel unclamped.
            if (!_clampInstalled)
            {
                ClampSegmentSize();
                TolerateFlowsMovedBetweenGateways();
                _clampInstalled = true;
                changes++;
            }
            var members = _exchange.Members;
            var localNetworks = _tunnel.LocalNetworks();
            var paths = members.SelectMany(m => TunnelDevices.PathsTo(m, Devices, localNetworks)).ToList();
            // Every remote gateway that answers probes is probed where WireGuard reaches it, over every path: a dead node
            // shows, and so do all its WAN legs down; one leg down is the paths' business (the gateway still carries).
            _liveness.Track(members.Where(m => m.ProbePort > 0 && PeerPlanner.EndpointOf(m, localNetworks) is not null)
                .ToDictionary(m => m.Announcer.ToString(), m => (IReadOnlyList<IPEndPoint>)paths.Where(p => ReferenceEquals(p.Remote, m))
                    .Select(p => p.RemoteEndpoint.Address)
                    .DefaultIfEmpty(PeerPlanner.EndpointOf(m, localNetworks)!.Address)
                    .Select(address => GatewayLiveness.Responder(address, m.ProbePort)).Distinct().ToArray()));
            var claimed = new HashSet<IPNetwork>();
            IReadOnlyDictionary<string, string>? carriers = null;
            var carries = false;
            foreach (var (device, tunnel) in _tunnels)
            {
                var onDevice = paths.Where(p => p.Device.Index == device.Index).ToDictionary(p => p.Remote.Announcer);
                var view = new DeviceView(
                    m => onDevice.TryGetValue(m.Announcer, out var path) ? path.RemoteEndpoint : null,
                    m => onDevice.TryGetValue(m.Announcer, out var path) ? path.RemoteAddress : null);
                var plan = PeerPlanner.Plan(members, tunnel.Read().Peers, keepUnknownPeers: adopting, localNetworks, a => _liveness.IsLive(a.ToString()), view);
                // What no earlier device carries is routed here for unsteered traffic: every member stays reachable
                // from the main table, through its first path.
                var main = plan.Routes.Where(claimed.Add).ToArray();
                var own = device.LocalEndpoints.Select(e => TunnelDevices.TunnelAddress(_identity.MemberId, Announced.Gateway, e)).Distinct().ToArray();
                changes += tunnel.Apply(plan, main, device.RouteTable, own);
                carriers ??= plan.Carriers;
                carries |= plan.Routes.Count > 0;
            }
            changes += SteeringRules.Apply(_ns, Devices);
            foreach (var (member, carrier) in carriers!)
            {
                if (_carriers.TryGetValue(member, out var before) && before != carrier)
                    _liveness.CountFailover(member, before, carrier);
            }
            var pathsChanged = !SamePaths(paths, _paths) || !carriers.OrderBy(c => c.Key).SequenceEqual(_carriers.OrderBy(c => c.Key));
            _carriers = carriers;
            _paths = paths;
            _carries = carries;
            if (changes > 0)
                Log.Reconciled(_logger, changes, _exchange.Members.Count, _tunnel.Interface);
            if (pathsChanged)
                PathsChanged?.Invoke();
        }
    }

    private static bool SamePaths(IReadOnlyList<TunnelPath> a, IReadOnlyList<TunnelPath> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Device.Index == p.Second.Device.Index && p.First.Remote.Announcer.Equals(p.Second.Remote.Announcer)
            && p.First.RemoteEndpoint.Equals(p.Second.RemoteEndpoint) && p.First.LocalEndpoint.Equals(p.Second.LocalEndpoint));

    /// <summary>
    /// TCP's MSS on SYNs leaving through the tunnel is lowered to what the tunnel's MTU carries: pods have a larger
    /// MTU than the tunnel, and the ICMP "fragmentation needed" that path MTU discovery relies on is filtered on many
    /// paths, so without this a full-size segment would vanish (a black hole). Both gateways clamp what they send,
    /// so both directions of a connection agree.
    /// </summary>
    private void ClampSegmentSize()
    {
        var script = MeshClampRenderer.Render(Devices.Select(d => d.Interface).ToArray());
        _ns.Run(() =>
        {
            using var nft = new NftablesSession();
            nft.ReplaceTable(MeshClampRenderer.Table, MeshClampRenderer.BaseChains, script);
            return 0;
        });
    }

    /// <summary>
    /// Makes conntrack's TCP window tracking liberal in this gateway's namespace (<c>nf_conntrack_tcp_be_liberal</c>,
    /// as kube-proxy's <c>--conntrack-tcp-be-liberal</c> does): with two gateways a connection moves from one to the
    /// other and back (a failover, the carrier's return), and each gateway's conntrack has seen only part of it. The
    /// first segment back through a gateway acknowledges data that gateway never saw; strict tracking calls it
    /// invalid, the forward chain drops invalid packets, and the connection stalls for good (a test caught exactly
    /// that). Liberal tracking still refuses out-of-window RSTs, so a blind reset cannot tear connections down.
    /// </summary>
    private void TolerateFlowsMovedBetweenGateways()
    {
        try
        {
            _ns.Run(() =>
            {
                if (Sysctl.Read("net.netfilter.nf_conntrack_tcp_be_liberal") != "1")
                    Sysctl.Write("net.netfilter.nf_conntrack_tcp_be_liberal", "1");
                return 0;
            });
        }
        catch (IOException e)
        {
            // No conntrack loaded (nothing tracks, nothing to stall) or no right to write: said, not fatal.
            Log.LiberalTrackingFailed(_logger, e.Message);
        }
    }

    /// <summary>Stops this gateway's work and, with <paramref name="removeDevice"/>, its device (the node is no longer a gateway).</summary>
    public void Stop(bool removeDevice)
    {
        if (!removeDevice)
            return;
        lock (_deviceLock)
        {
            foreach (var (_, tunnel) in _tunnels)
                tunnel.Remove();
            SteeringRules.Apply(_ns, []);
        }
        _ns.Run(() =>
        {
            using var nft = new NftablesSession();
            nft.Run(MeshClampRenderer.RenderRemoval());
            return 0;
        });
    }

    public void Dispose()
    {
        _liveness.Dispose();
        _responder?.Dispose();
        _exchange.Dispose();
        foreach (var (_, tunnel) in _tunnels)
            tunnel.Dispose();
    }
}
