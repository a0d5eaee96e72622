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
/// gateways (which of them its remote routes go to). A gateway reached over several paths is probed over each and is
/// live while any of them answers: one WAN link down is a path's failover, not the gateway's. A gateway not tracked,
/// or not probed (it announced no probe port), counts as live: liveness only ever takes a gateway out of use on evidence.
/// </summary>
public sealed partial class GatewayLiveness : IDisposable
{
    private readonly PathProber _prober;
    private readonly ILogger _logger;
    private readonly string _role;
    private readonly Lock _lock = new();
    private Dictionary<string, IReadOnlyList<IPEndPoint>> _tracked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _reported = new(StringComparer.Ordinal);

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
            var probes = _prober.Paths;
            lock (_lock)
                return _tracked.ToDictionary(t => t.Key, t => Live(t.Key, t.Value, probes), StringComparer.Ordinal);
        }
    }

    /// <summary>Whether <paramref name="gateway"/> answers its probes on any of its responders; true for one not tracked.</summary>
    public bool IsLive(string gateway)
    {
        var probes = _prober.Paths;
        lock (_lock)
            return !_tracked.TryGetValue(gateway, out var responders) || Live(gateway, responders, probes);
    }

    /// <summary>
    /// Whether <paramref name="gateway"/> has answered a probe on any of its responders since it was tracked; true for
    /// one not tracked. A gateway not live that never answered is one just met (it starts dead), not one lost.
    /// </summary>
    public bool HasAnswered(string gateway)
    {
        var probes = _prober.Paths;
        lock (_lock)
            return !_tracked.TryGetValue(gateway, out var responders)
                || responders.Any(r => probes.TryGetValue(ProbeKey(gateway, r), out var status) && status.LastReplyAt is not null);
    }

    /// <summary>
    /// Probes exactly these gateways (id → the address and port of its responder) from now on: new ones start
    /// (Down until they have answered for a second), gone ones stop, moved ones keep their history.
    /// </summary>
    public void Track(IReadOnlyDictionary<string, IPEndPoint> gateways) =>
        Track(gateways.ToDictionary(g => g.Key, g => (IReadOnlyList<IPEndPoint>)[g.Value], StringComparer.Ordinal));

    /// <summary>
    /// Probes exactly these gateways, each at every responder address given (one per path that reaches it), from now
    /// on: new responders start (Down until they have answered for a second), gone ones stop, kept ones keep their history.
    /// </summary>
    public void Track(IReadOnlyDictionary<string, IReadOnlyList<IPEndPoint>> gateways)
    {
        lock (_lock)
        {
            var wanted = gateways.SelectMany(g => g.Value.Distinct().Select(r => ProbeKey(g.Key, r))).ToHashSet(StringComparer.Ordinal);
            var held = _tracked.SelectMany(g => g.Value.Select(r => ProbeKey(g.Key, r))).ToHashSet(StringComparer.Ordinal);
            if (wanted.SetEquals(held) && gateways.Count == _tracked.Count)
                return;
            foreach (var gone in held.Except(wanted))
                _prober.RemovePath(gone);
            foreach (var (id, responders) in gateways)
            {
                foreach (var responder in responders.Distinct())
                {
                    if (held.Contains(ProbeKey(id, responder)))
                        continue;
                    _prober.AddPath(ProbeKey(id, responder), responder);
                    Log.Tracking(_logger, _role, id, responder.ToString());
                }
            }
            _tracked = gateways.ToDictionary(g => g.Key, g => (IReadOnlyList<IPEndPoint>)g.Value.Distinct().ToArray(), StringComparer.Ordinal);
            // What a change is measured against: a new responder starts Down, so a new gateway starts dead until it answers.
            var probes = _prober.Paths;
            _reported.Clear();
            foreach (var (id, responders) in _tracked)
                _reported[id] = Live(id, responders, probes);
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
        var probes = _prober.Paths.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        // The event may come before the snapshot shows it.
        probes[change.PathId] = change.After;
        string? gateway;
        bool isLive, wasLive;
        lock (_lock)
        {
            gateway = _tracked.FirstOrDefault(t => t.Value.Any(r => ProbeKey(t.Key, r) == change.PathId)).Key;
            if (gateway is null)
                return;
            isLive = Live(gateway, _tracked[gateway], probes);
            wasLive = _reported.GetValueOrDefault(gateway);
            _reported[gateway] = isLive;
        }
        if (wasLive == isLive)
            return;
        if (isLive)
            Log.GatewayUp(_logger, _role, gateway);
        else
            Log.GatewayDown(_logger, _role, gateway, change.After.LastReplyAt is { } last ? (_prober.Now - last).TotalMilliseconds : double.NaN);
        Changed?.Invoke();
    }

    /// <summary>Live: some responder of the gateway is not Down (or not probed yet).</summary>
    private static bool Live(string gateway, IReadOnlyList<IPEndPoint> responders, IReadOnlyDictionary<string, PathStatus> probes) =>
        responders.Count == 0 || responders.Any(r => !probes.TryGetValue(ProbeKey(gateway, r), out var status) || status.State != PathState.Down);

    private static string ProbeKey(string gateway, IPEndPoint responder) => $"{gateway} at {responder}";

    public void Dispose() => _prober.Dispose();

    /// <summary>A responder's address for a gateway reached at <paramref name="address"/>: the same family as the prober's dual-stack socket takes.</summary>
    public static IPEndPoint Responder(IPAddress address, int port) =>
        new(address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
}
