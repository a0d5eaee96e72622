using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Hosting;
using Patronus.Agent.Mesh.Liveness;
using Patronus.Agent.Paths;
using Patronus.Agent.Sync;
using Patronus.Kubernetes.Kinds;
using Patronus.Netlink;

namespace Patronus.Agent.Routes;

/// <summary>
/// Pods on many nodes: reads every Node's pod ranges and addresses, programs this node's routes to the other
/// nodes' pods (direct or over VXLAN), masquerades pod traffic leaving the cluster set, and writes the node's
/// conflist with its own ranges once the agent is ready. Works from the whole set of Nodes each time (level, not
/// edge triggered), so a missed or repeated event, a restart, or someone deleting a route all end the same way.
/// </summary>
public sealed partial class RoutesFeature : IReadinessCheck, IDisposable
{
    private readonly RoutesOptions _options;
    private readonly string _nodeName;
    private readonly ClusterSync _cluster;
    private readonly ILogger _logger;
    private readonly NamespaceThread _thread;
    // A Node change sets the flag; waiting for it never consumes it (a semaphore waiter abandoned by WhenAny would
    // swallow the next signal), the loop clears it just before it reads the store.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private NftablesSession? _nft;
    private int _disposed;
    private RtNetlink? _netlink;
    private string? _lastMasquerade;
    private string _lastProblems = "";
    private volatile string? _notReady = "routes not programmed yet";
    private readonly NetNs? _ns;
    private readonly GatewayLiveness? _liveness;
    private string? _remoteVia;

    /// <param name="loggers">With a mesh (remote ranges, a gateway label and a probe port), runs the liveness of this cluster's gateways.</param>
    public RoutesFeature(RoutesOptions options, string nodeName, string? netns, ClusterSync cluster, ILogger<RoutesFeature> logger, ILoggerFactory? loggers = null)
    {
        _options = options;
        _nodeName = nodeName;
        _cluster = cluster;
        _logger = logger;
        _thread = new NamespaceThread(netns, "patronus-routes");
        if (loggers is not null && options.RemoteCidrs.Count > 0 && options.GatewayLabel is not null && options.GatewayProbePort > 0)
        {
            _ns = netns is null ? null : NetNs.OpenPath(netns);
            _liveness = new GatewayLiveness("local", new PathHealthOptions(), _ns, loggers);
            // A gateway going dead or live re-plans the remote routes at once, not at the next resync.
            _liveness.Changed += () => _wake.Writer.TryWrite(true);
        }
        cluster.Subscribe([ResourceKinds.Nodes], _ => _wake.Writer.TryWrite(true));
    }

    /// <summary>Which of this cluster's gateways answer (null without a mesh).</summary>
    public GatewayLiveness? Liveness => _liveness;

    /// <summary>
    /// The node this one routes other clusters' ranges to (a gateway of its cluster), or null when it sends them into
    /// its own tunnel (it is the first live gateway) or there are none: a standby gateway steers nothing onto its paths.
    /// </summary>
    public string? RemoteVia => _remoteViaNow;

    private volatile string? _remoteViaNow;

    /// <summary>Null once this node's routes are in the kernel and its conflist is written; otherwise why not.</summary>
    public string? NotReadyReason => _notReady;

    /// <summary>How many times the kernel was changed (routes, entries, devices, masquerade, conflist).</summary>
    public long Changes { get; private set; }

    /// <param name="synced">Completes when the cluster state has been read once.</param>
    /// <param name="agentReady">Completes when every other feature is ready: the conflist waits for it, since kubelet starts pods as soon as one exists.</param>
    public async Task RunAsync(Task synced, Task agentReady, CancellationToken cancellationToken)
    {
        await synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        var probing = _liveness?.RunAsync(cancellationToken) ?? Task.CompletedTask;
        while (!cancellationToken.IsCancellationRequested)
        {
            while (_wake.Reader.TryRead(out _))
            {
            }
            // Readiness may arrive while this pass runs: the wait below must then not sleep on it until the resync.
            var conflistAllowed = agentReady.IsCompletedSuccessfully;
            try
            {
                Reconcile(conflistAllowed);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever failed, the loop goes on: the next pass starts again from the whole set of Nodes.
                _notReady = $"routes: {e.Message}";
                Log.ProgrammingFailed(_logger, e.Message);
            }
            // Wake on a Node change, when the agent becomes ready (the conflist), or to check for drift.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_notReady is null ? _options.Resync : TimeSpan.FromSeconds(1));
            var changed = _wake.Reader.WaitToReadAsync(timeout.Token).AsTask();
            var ready = conflistAllowed || agentReady.IsFaulted || agentReady.IsCanceled ? Task.Delay(Timeout.Infinite, timeout.Token) : agentReady;
            await Task.WhenAny(changed, ready).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
                break;
            // Let a burst of Node events land before reading the store.
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }
        await probing.ConfigureAwait(false);
    }

    private void Reconcile(bool agentReady)
    {
        var wasNotReady = _notReady;
        var problems = new List<string>();
        var nodes = _cluster.Snapshot().Nodes.Select(n => NodeAddressing.FromNode(n, problems, _options.GatewayLabel)).ToList();
        var local = nodes.FirstOrDefault(n => n.Name == _nodeName);
        string? notReady = null;
        if (local is null)
            notReady = $"Node {_nodeName} is not in the cluster state";
        else if (local.PodCidrs.Count == 0)
            notReady = $"Node {_nodeName} has no spec.podCIDRs: pods cannot be given addresses (is kube-controller-manager running with --allocate-node-cidrs?)";
        else if (local.Addresses.Count == 0)
            notReady = $"Node {_nodeName} has no InternalIP in status.addresses";
        else if (RoutePlanner.LocalRangeClashes(local, nodes) is [var clash, ..])
            notReady = clash;
        // Not ready is said before the conflist goes: nobody may find the conflist gone and the agent still ready.
        if (notReady is not null)
            _notReady = notReady;

        var changes = _thread.Invoke(() =>
        {
            _netlink ??= RtNetlink.Open();
            var programmer = new RouteProgrammer(_netlink);
            var changed = 0;
            if (notReady is not null)
            {
                if (_options.CniConfTemplate is not null && ConflistFile.Remove(_options.CniConfPath))
                    changed++;
                return changed;
            }
            var uplink = programmer.FindUplink(local!.Addresses[0]);
            if (uplink is null)
            {
                notReady = $"no interface holds this node's address {local.Addresses[0]}";
                return changed;
            }
            // Every other gateway of this cluster is probed at its address; a gateway too probes the others, since it
            // routes into its own tunnel only while it is the first live one.
            _liveness?.Track(nodes.Where(n => n.Gateway && n.Name != local.Name && n.Addresses.Count > 0)
                .ToDictionary(n => n.Name, n => GatewayLiveness.Responder(n.Addresses[0], _options.GatewayProbePort)));
            var plan = RoutePlanner.Plan(_options.Mode, local, uplink.Subnets, nodes, _options.RemoteCidrs, _liveness is null ? null : _liveness.IsLive);
            _remoteViaNow = _options.RemoteCidrs.Count > 0 ? plan.Routes.FirstOrDefault(r => r.Destination == _options.RemoteCidrs[0])?.Node : null;
            if (_liveness is not null && _options.RemoteCidrs.Count > 0
                && plan.Routes.FirstOrDefault(r => r.Destination == _options.RemoteCidrs[0])?.Node is { } via)
            {
                if (_remoteVia is not null && _remoteVia != via)
                    _liveness.CountFailover("remote ranges", _remoteVia, via);
                _remoteVia = via;
            }
            problems.AddRange(plan.Problems);
            changed += programmer.Apply(plan, uplink);
            changed += ProgramMasquerade(local, nodes);
            if (agentReady && _options.CniConfTemplate is { } template)
            {
                int? mtu = _options.Mode == RoutingMode.Direct ? null : uplink.Mtu - VxlanEndpoint.Overhead(local.Addresses[0].AddressFamily);
                var content = ConflistRenderer.Render(File.ReadAllText(template), local.PodCidrs, mtu);
                if (ConflistFile.Write(_options.CniConfPath, content))
                {
                    changed++;
                    Log.ConflistWritten(_logger, _options.CniConfPath, string.Join(", ", local.PodCidrs));
                }
            }
            return changed;
        });

        var text = string.Join("; ", problems);
        if (text != _lastProblems)
        {
            foreach (var problem in problems)
                Log.NodeProblem(_logger, problem);
            _lastProblems = text;
        }
        if (changes > 0)
        {
            Changes += changes;
            Log.Programmed(_logger, changes, nodes.Count);
        }
        if (notReady != wasNotReady && notReady is not null)
            Log.NotReady(_logger, notReady);
        // Readiness is the routes' alone: the conflist waits for the agent's readiness, not the other way round.
        _notReady = notReady;
    }

    private int ProgramMasquerade(NodeAddressing local, IReadOnlyList<NodeAddressing> nodes)
    {
        _nft ??= new NftablesSession();
        var script = _options.Masquerade
            ? MasqueradeRenderer.Render(local.PodCidrs,
                nodes.SelectMany(n => n.PodCidrs).Concat(_options.ClusterCidrs).Concat(_options.ServiceCidrs).Concat(_options.NonMasqueradeCidrs))
            : MasqueradeRenderer.RenderRemoval();
        if (script == _lastMasquerade)
            return 0;
        if (_options.Masquerade)
            _nft.ReplaceTable(MasqueradeRenderer.Table, MasqueradeRenderer.BaseChains, script);
        else
            _nft.Run(script);
        _lastMasquerade = script;
        return 1;
    }

    // Once only: the container disposes it for each registration that hands it out (the feature and its readiness check).
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_nft is not null || _netlink is not null)
        {
            _thread.Invoke(() =>
            {
                _nft?.Dispose();
                _netlink?.Dispose();
                return 0;
            });
        }
        _thread.Dispose();
        _liveness?.Dispose();
        _ns?.Dispose();
    }
}
