using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Patronus.Mesh.Announcements;
using Patronus.Agent.Mesh.Discovery;
using Patronus.Mesh.Identity;
using Patronus.Agent.Mesh.Peers;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Netlink;

namespace Patronus.Agent.Mesh;

/// <summary>What this gateway announces of itself.</summary>
/// <param name="Endpoints">Where the other members reach this gateway's WireGuard port (its public or WAN addresses).</param>
/// <param name="Prefixes">The ranges behind it: the cluster's pod and service ranges, or a site's networks.</param>
public sealed record GatewayAnnouncement(IReadOnlyList<IPEndPoint> Endpoints, IReadOnlyList<IPNetwork> Prefixes);

/// <summary>
/// A gateway of the mesh: runs the WireGuard device, announces itself, and keeps the device's peers and routes
/// matching the members it has verified. Level-triggered: each pass reads the device as it is and changes only
/// what differs, so a restart, a missed event or someone removing a peer all end the same way.
/// </summary>
public sealed partial class MeshGateway : IDisposable
{
    private readonly MemberIdentity _identity;
    private readonly WireGuardTunnel _tunnel;
    private readonly AnnouncementExchange _exchange;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly TimeSpan _adoptionGrace;
    private DateTimeOffset _adoptedUntil;

    public MeshGateway(MemberIdentity identity, MeshTrust trust, GatewayAnnouncement announcement, DiscoveryOptions discovery, TunnelOptions tunnel, NetNs ns, ILoggerFactory loggers, TimeProvider? time = null)
    {
        _identity = identity;
        _logger = loggers.CreateLogger<MeshGateway>();
        _time = time ?? TimeProvider.System;
        // As long as a member's announcement stays valid: by then every live member has announced again.
        _adoptionGrace = trust.MaxAge;
        _tunnel = new WireGuardTunnel(tunnel, ns, loggers.CreateLogger<WireGuardTunnel>());
        var publicKey = identity.WireGuardPrivateKey.PublicKey().Bytes.ToArray();
        _exchange = new AnnouncementExchange(discovery, identity, trust,
            () => new Announcement(identity.Certificate, 0, default, publicKey, announcement.Endpoints, announcement.Prefixes),
            ns, loggers.CreateLogger<AnnouncementExchange>(), time);
        _exchange.MembersChanged += () => _wake.Writer.TryWrite(true);
    }

    /// <summary>Completes once the device runs and has been matched to the members once.</summary>
    public Task Ready => _ready.Task;

    public AnnouncementExchange Exchange => _exchange;

    public WireGuardTunnel Tunnel => _tunnel;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!_tunnel.Ensure(_identity.WireGuardPrivateKey))
            _adoptedUntil = _time.GetUtcNow() + _adoptionGrace;
        var exchanging = _exchange.RunAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                while (_wake.Reader.TryRead(out _))
                {
                }
                try
                {
                    Reconcile();
                    _ready.TrySetResult();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The next pass starts again from the device as it is.
                    Log.ReconcileFailed(_logger, e.Message);
                }
                using var resync = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                resync.CancelAfter(TimeSpan.FromSeconds(10));
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
        await exchanging.ConfigureAwait(false);
    }

    private void Reconcile()
    {
        // The device itself may have been restarted or removed: make sure it runs before matching its peers.
        _tunnel.Ensure(_identity.WireGuardPrivateKey);
        var adopting = _time.GetUtcNow() < _adoptedUntil;
        var plan = PeerPlanner.Plan(_exchange.Members, _tunnel.Read().Peers, keepUnknownPeers: adopting);
        var changes = _tunnel.Apply(plan);
        if (changes > 0)
            Log.Reconciled(_logger, changes, _exchange.Members.Count, _tunnel.Interface);
    }

    public void Dispose()
    {
        _exchange.Dispose();
        _tunnel.Dispose();
    }
}
