using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Paths;
using Patronus.Netlink;

namespace Patronus.Agent.Mesh.Liveness;

/// <summary>
/// Which gateways answer: probes each tracked gateway's <see cref="ProbeResponder"/> with the paths' prober
/// (<see cref="PathProber"/>: a 50 ms interval, Down after three silent probes, Up again after a second of answers),
/// so a gateway whose node dies is known dead in about 150 ms. Used from both sides of a gateway: a gateway probes
/// the remote members' gateways (which of them carries a member's prefixes), a node probes its own cluster's
/// gateways (which of them its remote routes go to). A gateway not tracked, or not probed (it announced no probe
/// port), counts as live: liveness only ever takes a gateway out of use on evidence.
/// </summary>
public sealed partial class GatewayLiveness : IDisposable
{
    private readonly PathProber _prober;
    private readonly ILogger _logger;
    private readonly string _role;
    private readonly Lock _lock = new();
    private Dictionary<string, IPEndPoint> _tracked = new(StringComparer.Ordinal);

    /// <param name="role">What these gateways are to this node, for logs and metrics: <c>local</c> (its own cluster's) or <c>remote</c>.</param>
    /// <param name="ns">The network namespace to probe from; null for the caller's.</param>
    public GatewayLiveness(string role, PathHealthOptions options, NetNs? ns, ILoggerFactory loggers, TimeProvider? time = null)
    {
        _role = role;
        _logger = loggers.CreateLogger<GatewayLiveness>();
        // One dual-stack socket reaches gateways of either family.
        _prober = new PathProber(options, new IPEndPoint(IPAddress.IPv6Any, 0), ns, loggers.CreateLogger<PathProber>(), time);
        _prober.StateChanged += OnStateChanged;
    }

    /// <summary>Raised (on the probing loop; hold no lock) when a tracked gateway goes live or dead.</summary>
    public event Action? Changed;

    public string Role => _role;

    /// <summary>How often a carrier moved because of what this liveness saw (counted by the owner through <see cref="CountFailover"/>).</summary>
    public long Failovers => Interlocked.Read(ref _failovers);

    private long _failovers;

    /// <summary>Every tracked gateway and whether it is live now.</summary>
    public IReadOnlyDictionary<string, bool> Gateways
    {
        get
        {
            var paths = _prober.Paths;
            lock (_lock)
                return _tracked.Keys.ToDictionary(id => id, id => !paths.TryGetValue(id, out var status) || status.State != PathState.Down, StringComparer.Ordinal);
        }
    }

    /// <summary>Whether <paramref name="gateway"/> answers its probes; true for one not tracked.</summary>
    public bool IsLive(string gateway) =>
        !_prober.Paths.TryGetValue(gateway, out var status) || status.State != PathState.Down;

    /// <summary>
    /// Probes exactly these gateways (id → the address and port of its responder) from now on: new ones start
    /// (Down until they have answered for a second), gone ones stop, moved ones keep their history.
    /// </summary>
    public void Track(IReadOnlyDictionary<string, IPEndPoint> gateways)
    {
        lock (_lock)
        {
            if (gateways.Count == _tracked.Count && gateways.All(g => _tracked.TryGetValue(g.Key, out var at) && at.Equals(g.Value)))
                return;
            foreach (var gone in _tracked.Keys.Where(id => !gateways.ContainsKey(id)))
                _prober.RemovePath(gone);
            foreach (var (id, responder) in gateways)
            {
                if (!_tracked.TryGetValue(id, out var before) || !before.Equals(responder))
                {
                    _prober.AddPath(id, responder);
                    Log.Tracking(_logger, _role, id, responder.ToString());
                }
            }
            _tracked = new Dictionary<string, IPEndPoint>(gateways, StringComparer.Ordinal);
        }
    }

    /// <summary>The owner moved traffic off a gateway (or back) because of this liveness.</summary>
    public void CountFailover(string owner, string from, string to)
    {
        Interlocked.Increment(ref _failovers);
        Log.FailedOver(_logger, _role, owner, from, to);
    }

    public Task RunAsync(CancellationToken cancellationToken) => _prober.RunAsync(cancellationToken);

    private void OnStateChanged(PathStateChange change)
    {
        var wasLive = change.Before.State != PathState.Down;
        var isLive = change.After.State != PathState.Down;
        if (wasLive == isLive)
            return;
        if (isLive)
            Log.GatewayUp(_logger, _role, change.PathId);
        else
            Log.GatewayDown(_logger, _role, change.PathId, _prober.Paths.TryGetValue(change.PathId, out var s) && s.LastReplyAt is { } last ? (_prober.Now - last).TotalMilliseconds : double.NaN);
        Changed?.Invoke();
    }

    public void Dispose() => _prober.Dispose();

    /// <summary>A responder's address for a gateway reached at <paramref name="address"/>: the same family as the prober's dual-stack socket takes.</summary>
    public static IPEndPoint Responder(IPAddress address, int port) =>
        new(address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
}
