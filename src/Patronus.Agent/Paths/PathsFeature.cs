using System.Net;
using System.Threading.Channels;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Mesh;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Agent.Paths.Bandwidth;
using Patronus.Agent.Paths.Steering;
using Patronus.Agent.Sync;
using Patronus.Netlink;
using Patronus.Kubernetes.Kinds;

namespace Patronus.Agent.Paths;

/// <summary>A path as the feature probes it: one WAN path (a device) to one remote member's carrier gateway.</summary>
/// <param name="Key">The prober's id for it: <c>MEMBER/PATH</c>.</param>
public sealed record ProbedPath(string Key, string MemberId, string PathId, TunnelPath Tunnel);

/// <summary>
/// Paths on a gateway: probes every WAN path to every remote member inside its tunnel (the mesh runs one WireGuard
/// device per path), scores them, chooses per QoS class and per pod which path its traffic to each member takes,
/// and steers it there (<see cref="SteeringRenderer"/>: a mark per path, a route table per mark). Decisions run on
/// the prober's tick, right after the probes that show a path broke, so a failover costs the detection time and one
/// nftables transaction. Nothing runs on a node that is not a gateway.
/// </summary>
public sealed partial class PathsFeature : IDisposable
{
    private readonly MeshFeature _mesh;
    private readonly Routes.RoutesFeature? _routes;
    private readonly ClusterSync? _cluster;
    private readonly PathsOptions _options;
    private readonly PathMetrics _metrics;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _lock = new();
    private readonly string _clusterId;
    private Attached? _attached;
    private volatile IReadOnlyList<ProbedPath> _paths = [];
    private volatile IReadOnlyList<SteeredPod> _pods = [];
    private volatile SelectionRound? _lastRound;
    private volatile IReadOnlySet<string> _unreachable = new HashSet<string>(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, double> _spare = new Dictionary<string, double>();
    private IReadOnlyDictionary<string, long> _lastSent = new Dictionary<string, long>();
    private DateTimeOffset _lastSentAt;
    private string? _appliedScript;
    private volatile bool _steerAgain;
    private readonly Telemetry.LogRateLimit _tickErrors = new(10, TimeSpan.FromMinutes(1));
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _failoversFrom = new(StringComparer.Ordinal);

    private sealed record Attached(MeshGateway Gateway, PathProber Prober, PathSelection Selection, TunnelShaper Shaper, CancellationTokenSource Stop, Task Task);

    /// <summary>What each device was last shaped for (by interface), so unchanged guarantees cost nothing.</summary>
    private readonly Dictionary<string, string> _shaped = new(StringComparer.Ordinal);

    /// <param name="routes">The routes feature, which knows whether this gateway is its cluster's first live one; null: it is.</param>
    public PathsFeature(MeshFeature mesh, ClusterSync? cluster, PathsOptions options, PathMetrics metrics, ILoggerFactory loggers, Routes.RoutesFeature? routes = null)
    {
        _routes = routes;
        _mesh = mesh;
        _cluster = cluster;
        _options = options;
        _metrics = metrics;
        _loggers = loggers;
        _logger = loggers.CreateLogger<PathsFeature>();
        _clusterId = mesh.Options.MemberId ?? "";
        cluster?.Subscribe([ResourceKinds.Pods], _ => _wake.Writer.TryWrite(true));
    }

    /// <summary>The paths probed now.</summary>
    public IReadOnlyList<ProbedPath> Paths => _paths;

    /// <summary>The gateway the feature works for now; null when this node is not one.</summary>
    public MeshGateway? Gateway => _attached?.Gateway;

    /// <summary>Every probed path's status now, by key.</summary>
    public IReadOnlyDictionary<string, PathStatus> Statuses => _attached?.Prober.Paths ?? new Dictionary<string, PathStatus>();

    /// <summary>The last decision round (choices per class and pod); null before the first.</summary>
    public SelectionRound? LastRound => _lastRound;

    public PathsOptions Options => _options;

    /// <summary>The members this gateway has lost every path to (<see cref="MemberReachability"/>); empty on other nodes.</summary>
    public IReadOnlySet<string> UnreachableMembers => _unreachable;

    /// <summary>Raised on the probing thread (do not block it) when <see cref="UnreachableMembers"/> changes.</summary>
    public event Action? ReachabilityChanged;

    public IReadOnlyList<SteeredPod> Pods => _pods;

    public async Task RunAsync(Task synced, CancellationToken cancellationToken)
    {
        if (_cluster is not null)
            await synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                while (_wake.Reader.TryRead(out _))
                {
                }
                try
                {
                    Reconcile(cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.ReconcileFailed(_logger, e.Message);
                }
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                // The mesh's gateway starts and stops on its own schedule, and spare capacity is measured per second.
                tick.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    await _wake.Reader.WaitToReadAsync(tick.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        // The steering stays as it is when the agent stops: traffic keeps its paths until the next agent decides.
        await DetachAsync(removeSteering: false).ConfigureAwait(false);
    }

    private void Reconcile(CancellationToken cancellationToken)
    {
        var gateway = _mesh.Gateway;
        if (_attached is { } attached && attached.Gateway != gateway)
            DetachAsync(removeSteering: gateway is null).GetAwaiter().GetResult();
        if (gateway is null)
            return;
        if (_attached is null)
            Attach(gateway, cancellationToken);
        _pods = SteeredPods();
        TrackPaths(_attached!);
        MeasureSpare(_attached!.Gateway);
    }

    private void Attach(MeshGateway gateway, CancellationToken cancellationToken)
    {
        // One dual-stack socket: the tunnels' addresses are IPv6, inside every path.
        var prober = new PathProber(_options.Health, new IPEndPoint(IPAddress.IPv6Any, 0), gateway.Namespace, _loggers.CreateLogger<PathProber>());
        // A path needs the recovery hold-down of answers to come up: wait that long and a chooser's hold-down more.
        var selection = new PathSelection(_options.DefaultClass, _options.Chooser, _options.Health.RecoverHoldDown + _options.Chooser.HoldDown);
        var shaper = TunnelShaper.OpenIn(gateway.Namespace, _loggers.CreateLogger<TunnelShaper>());
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        prober.Probed += (statuses, now) => Decide(statuses, now);
        gateway.PathsChanged += OnPathsChanged;
        var task = prober.RunAsync(stop.Token);
        _attached = new Attached(gateway, prober, selection, shaper, stop, task);
        Log.Attached(_logger, string.Join(", ", gateway.Devices.Select(d => $"{d.PathId} ({d.Interface}:{d.ListenPort})")));
    }

    private void OnPathsChanged() => _wake.Writer.TryWrite(true);

    private async Task DetachAsync(bool removeSteering)
    {
        var attached = _attached;
        _attached = null;
        if (attached is null)
            return;
        attached.Gateway.PathsChanged -= OnPathsChanged;
        await attached.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await attached.Task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ReconcileFailed(_logger, e.Message);
        }
        attached.Prober.Dispose();
        attached.Shaper.Dispose();
        attached.Stop.Dispose();
        lock (_lock)
            _shaped.Clear();
        _paths = [];
        // What a gateway no longer probes it knows nothing of: the heartbeats alone decide.
        Reach([]);
        if (removeSteering)
        {
            try
            {
                ApplySteering(attached.Gateway, declaration: null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.ReconcileFailed(_logger, e.Message);
            }
            lock (_lock)
                _appliedScript = null;
        }
    }

    /// <summary>Probes exactly the paths to each member's carrier: the only gateway of a member its traffic goes to.</summary>
    private void TrackPaths(Attached attached)
    {
        var carriers = attached.Gateway.Carriers;
        var wanted = attached.Gateway.Paths
            .Where(p => p.Remote.ProbePort > 0 && carriers.TryGetValue(p.Remote.MemberId, out var carrier) && carrier == p.Remote.Gateway)
            .Select(p => new ProbedPath($"{p.Remote.MemberId}/{p.Device.PathId}", p.Remote.MemberId, p.Device.PathId, p))
            .ToList();
        foreach (var gone in _paths.Where(p => !wanted.Any(w => w.Key == p.Key)))
            attached.Prober.RemovePath(gone.Key);
        foreach (var path in wanted)
        {
            // Kept by key across a carrier change: the path's history stays, its far end moves to the new carrier.
            attached.Prober.AddPath(path.Key, new IPEndPoint(path.Tunnel.RemoteAddress, path.Tunnel.Remote.ProbePort));
        }
        _paths = wanted;
    }

    /// <summary>The pods of this cluster with addresses, and what their annotations ask for.</summary>
    private IReadOnlyList<SteeredPod> SteeredPods()
    {
        if (_cluster is null)
            return [];
        var pods = new List<SteeredPod>();
        foreach (var pod in _cluster.Snapshot().Pods)
        {
            if (pod.Spec?.HostNetwork == true || pod.Status?.Phase is "Succeeded" or "Failed")
                continue;
            var ips = (pod.Status?.PodIPs ?? []).Select(ip => IPAddress.TryParse(ip.Ip, out var address) ? address : null).OfType<IPAddress>().ToArray();
            if (ips.Length == 0)
                continue;
            var annotations = pod.Metadata?.Annotations is { } a ? new Dictionary<string, string>(a) : null;
            var qos = QosAnnotations.Parse(annotations, _options.DefaultClass);
            pods.Add(new SteeredPod(pod.Namespace() ?? "", pod.Name() ?? "", ips, qos));
        }
        return pods;
    }

    /// <summary>Spare capacity per path id: its capacity less what its device sent over the last second.</summary>
    private void MeasureSpare(MeshGateway gateway)
    {
        var now = DateTimeOffset.UtcNow;
        var sent = gateway.TransmittedBytes();
        var elapsed = (now - _lastSentAt).TotalSeconds;
        var spare = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var device in gateway.Devices)
        {
            if (!_options.Capacities.TryGetValue(device.PathId, out var capacity))
                continue;
            var used = sent.TryGetValue(device.Interface, out var bytes) && _lastSent.TryGetValue(device.Interface, out var before) && elapsed > 0
                ? Math.Max(0, bytes - before) * 8 / elapsed / 1e6
                : 0;
            spare[device.PathId] = Math.Max(0, capacity - used);
        }
        _lastSent = sent;
        _lastSentAt = now;
        _spare = spare;
    }

    /// <summary>One decision round, on the prober's tick thread right after its probes.</summary>
    private void Decide(IReadOnlyDictionary<string, PathStatus> statuses, TimeSpan now)
    {
        var attached = _attached;
        if (attached is null)
            return;
        try
        {
            var paths = _paths;
            var spare = _spare;
            var members = paths.GroupBy(p => p.MemberId).Select(g => new MemberPaths(
                    g.Key,
                    g.First().Tunnel.Remote.Prefixes,
                    g.Where(p => statuses.ContainsKey(p.Key))
                        .Select(p => PathCandidate.From(p.PathId, statuses[p.Key],
                            _options.Capacities.TryGetValue(p.PathId, out var capacity) ? capacity : null,
                            spare.TryGetValue(p.PathId, out var free) ? free : null))
                        .ToArray()))
                .ToArray();
            Reach(paths.Where(p => statuses.ContainsKey(p.Key)).Select(p => (p.MemberId, statuses[p.Key])));
            var round = attached.Selection.Decide(members, _pods, now);
            _lastRound = round;
            foreach (var failover in round.Failovers)
            {
                _metrics.CountFailover(_clusterId, failover.MemberId, failover.FromPathId, failover.QosClass);
                _failoversFrom.AddOrUpdate($"{failover.MemberId}/{failover.FromPathId}", 1, (_, n) => n + 1);
                Log.FailedOver(_logger, failover.QosClass, failover.MemberId, failover.FromPathId, failover.ToPathId ?? "none", failover.Reason);
            }
            foreach (var choice in round.Choices.Where(c => c.Key == c.QosClass && c.Change is PathChangeKind.Failover or PathChangeKind.Preempted))
                _metrics.Changes.WithLabels(_clusterId, choice.MemberId, choice.QosClass).Inc();
            if (_routes?.RemoteVia is not null)
            {
                // A standby gateway: its pods' traffic goes to the carrier gateway like any node's (the remote side
                // accepts the cluster's ranges only from the carrier), so none of it may be marked onto its own paths.
                StopSteering(attached.Gateway);
                _steerAgain = true;
            }
            else if (round.Changed || _steerAgain)
            {
                Steer(attached.Gateway, round);
            }
            Shape(attached, round);
            Record(paths, statuses, round);
        }
        catch (Exception e)
        {
            // The tick thread must go on probing whatever a decision met; a lasting failure is said ten times a minute.
            if (_tickErrors.TryEnter(out _))
                Log.ReconcileFailed(_logger, e.Message);
        }
    }

    private void Reach(IEnumerable<(string MemberId, PathStatus Status)> paths)
    {
        var unreachable = MemberReachability.Unreachable(paths);
        if (unreachable.SetEquals(_unreachable))
            return;
        foreach (var member in unreachable.Except(_unreachable))
            Log.MemberUnreachable(_logger, member);
        foreach (var member in _unreachable.Except(unreachable))
            Log.MemberReachable(_logger, member);
        _unreachable = unreachable;
        ReachabilityChanged?.Invoke();
    }

    private void Steer(MeshGateway gateway, SelectionRound round)
    {
        var marks = gateway.Devices.ToDictionary(d => d.PathId, d => d.Mark, StringComparer.Ordinal);
        var script = SteeringRenderer.Render(round.Steering, id => marks.GetValueOrDefault(id));
        // Until it is in the kernel the next tick tries again: the selection reports a change only once.
        _steerAgain = true;
        if (!ApplySteering(gateway, script))
        {
            _steerAgain = false;
            return;
        }
        _steerAgain = false;
        foreach (var member in round.Steering)
            Log.Steered(_logger, member.MemberId, member.DefaultPathId ?? "none", member.PodPaths.Count);
    }

    private void StopSteering(MeshGateway gateway)
    {
        if (ApplySteering(gateway, declaration: null))
            Log.Standby(_logger);
    }

    /// <summary>
    /// Puts a steering table in place in the gateway's namespace (null: removes it) unless it is the one loaded last;
    /// true when it loaded it.
    /// </summary>
    private bool ApplySteering(MeshGateway gateway, string? declaration)
    {
        var script = declaration ?? SteeringRenderer.RenderRemoval();
        lock (_lock)
        {
            if (script == _appliedScript)
                return false;
            gateway.Namespace.Run(() =>
            {
                using var nft = new NftablesSession();
                if (declaration is null)
                    nft.Run(script);
                else
                    nft.ReplaceTable(SteeringRenderer.Table, SteeringRenderer.BaseChains, declaration);
                return 0;
            });
            _appliedScript = script;
            return true;
        }
    }

    /// <summary>
    /// Every device's egress guarantees the minimum bandwidth of the pods whose traffic takes it now (HTB, see
    /// <see cref="TunnelShaper"/>), on the path's configured capacity; a path of unknown capacity cannot be shaped
    /// (a guarantee needs a ceiling to be a share of) and is said so once.
    /// </summary>
    /// <summary>What the probes of one path need, with room: 20 probes and 20 replies a second of under 100 bytes.</summary>
    private const double ProbeClassMbps = 0.5;

    private void Shape(Attached attached, SelectionRound round)
    {
        var wanted = new Dictionary<string, List<BandwidthGuarantee>>(StringComparer.Ordinal);
        foreach (var pod in _pods.Where(p => p.Qos.MinBandwidthMbps is not null))
        {
            var paths = round.Steering
                .Select(m => pod.Ips.Select(ip => m.PodPaths.GetValueOrDefault(ip)).FirstOrDefault(p => p is not null) ?? m.DefaultPathId)
                .OfType<string>().Distinct();
            foreach (var path in paths)
            {
                if (!wanted.TryGetValue(path, out var list))
                    wanted[path] = list = [];
                list.Add(new BandwidthGuarantee(pod.Ips, pod.Qos.MinBandwidthMbps!.Value));
            }
        }
        foreach (var device in attached.Gateway.Devices)
        {
            var guarantees = wanted.GetValueOrDefault(device.PathId) ?? [];
            if (guarantees.Count > 0)
            {
                // The path's own probes and probe replies (from this gateway's tunnel addresses) get a class of their
                // own: in the default class a bulk pod's flood would drop them, and the path would look Down.
                var own = device.LocalEndpoints.Select(e => TunnelDevices.TunnelAddress(_clusterId, attached.Gateway.Announced.Gateway, e)).Distinct().ToArray();
                guarantees = [.. guarantees, new BandwidthGuarantee(own, ProbeClassMbps)];
            }
            _options.Capacities.TryGetValue(device.PathId, out var capacity);
            var key = $"{capacity}|{string.Join(",", guarantees.Select(g => $"{string.Join("+", g.Addresses)}={g.MinMbps}"))}";
            lock (_lock)
            {
                if (_shaped.TryGetValue(device.Interface, out var done) && done == key)
                    continue;
                if (guarantees.Count > 0 && capacity <= 0)
                {
                    Log.Unshapeable(_logger, device.PathId, guarantees.Count);
                    _shaped[device.Interface] = key;
                    continue;
                }
                // Recorded whether it worked or not: a failure is said once and tried again when the guarantees
                // change, not on every 50 ms tick.
                _shaped[device.Interface] = key;
                try
                {
                    if (guarantees.Count == 0)
                        attached.Shaper.Remove(device.Interface);
                    else
                        attached.Shaper.Apply(device.Interface, capacity, guarantees);
                }
                catch (Exception e) when (e is NetlinkException or ArgumentException or InvalidOperationException)
                {
                    Log.ReconcileFailed(_logger, $"shaping {device.Interface}: {e.Message}");
                }
            }
        }
    }

    private void Record(IReadOnlyList<ProbedPath> paths, IReadOnlyDictionary<string, PathStatus> statuses, SelectionRound round)
    {
        foreach (var path in paths)
        {
            if (statuses.TryGetValue(path.Key, out var status))
                _metrics.Record(_clusterId, path.MemberId, path.PathId, status);
        }
        foreach (var choice in round.Choices.Where(c => c.Key == c.QosClass && c.PathId is not null))
        {
            var key = $"{choice.MemberId}/{choice.PathId}";
            if (statuses.TryGetValue(key, out var status) && status.Quality.LatencyMs is { } latency)
                _metrics.RecordPodLatency(_clusterId, choice.MemberId, choice.QosClass, latency);
        }
    }

    /// <summary>What <c>patronus paths</c> shows: every path's measurements, each class's and pod's choice now.</summary>
    public PathsStatus Status(string node)
    {
        var attached = _attached;
        if (attached is null)
        {
            return new PathsStatus
            {
                ClusterId = _clusterId,
                Node = node,
                Problem = _mesh.Gateway is null ? "this node is not a mesh gateway: only gateways probe paths and steer pods onto them" : "the paths feature is starting",
            };
        }
        var statuses = attached.Prober.Paths;
        var now = attached.Prober.Now;
        var round = _lastRound;
        var spare = _spare;
        var pods = _pods;
        return new PathsStatus
        {
            ClusterId = _clusterId,
            Node = node,
            Gateway = true,
            ProbeIntervalMs = _options.Health.ProbeInterval.TotalMilliseconds,
            Paths = [.. _paths.Where(p => statuses.ContainsKey(p.Key)).Select(p =>
            {
                var status = statuses[p.Key];
                return new PathReport
                {
                    Id = p.PathId,
                    Remote = p.MemberId,
                    RemoteGateway = p.Tunnel.Remote.Gateway,
                    Device = p.Tunnel.Device.Interface,
                    State = status.State.ToString(),
                    Score = Math.Round(status.Score, 1),
                    LatencyMs = status.Quality.LatencyMs is { } latency ? Math.Round(latency, 2) : null,
                    JitterMs = Math.Round(status.Quality.JitterMs, 2),
                    LossPercent = Math.Round(status.Quality.LossRatio * 100, 2),
                    CapacityMbps = _options.Capacities.TryGetValue(p.PathId, out var capacity) ? capacity : null,
                    SpareMbps = spare.TryGetValue(p.PathId, out var free) ? Math.Round(free, 1) : null,
                    Failovers = _failoversFrom.GetValueOrDefault(p.Key),
                    StateSinceSeconds = Math.Round((now - status.StateSince).TotalSeconds, 1),
                };
            })],
            Classes = [.. (round?.Choices ?? []).Where(c => c.Key == c.QosClass).Select(c => new PathChoiceReport
            {
                QosClass = c.QosClass,
                Remote = c.MemberId,
                Path = c.PathId,
                Reason = c.Reason,
            })],
            Pods = [.. pods.Where(p => p.HasOwnSla).SelectMany(p => (round?.Choices ?? []).Where(c => c.Key == PathSelection.KeyOf(p.Qos)).Select(c => new PodPathReport
            {
                Namespace = p.Namespace,
                Name = p.Name,
                Ips = [.. p.Ips.Select(ip => ip.ToString())],
                QosClass = p.Qos.Class.Name,
                MaxLatencyMs = p.Qos.Sla.MaxLatencyMs != p.Qos.Class.Sla.MaxLatencyMs ? p.Qos.Sla.MaxLatencyMs : null,
                MinBandwidthMbps = p.Qos.MinBandwidthMbps,
                Remote = c.MemberId,
                Path = c.PathId,
            }))],
        };
    }

    public void Dispose() => DetachAsync(removeSteering: false).GetAwaiter().GetResult();
}
