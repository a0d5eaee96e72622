using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Hosting;
using Patronus.Agent.Mesh.Discovery;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Agent.Routes;
using Patronus.Agent.Sync;
using Patronus.Kubernetes.Kinds;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Patronus.Netlink;

namespace Patronus.Agent.Mesh;

/// <summary>
/// The mesh on this node: when the node is a gateway (its Node carries the gateway label), runs the WireGuard
/// gateway that joins this cluster to the others; when it stops being one, removes it. A site (no Kubernetes) is
/// always its own gateway. The routes from other nodes to a gateway are the routes feature's.
/// </summary>
public sealed partial class MeshFeature : IDisposable
{
    private readonly AgentOptions _options;
    private readonly MeshOptions _mesh;
    private readonly ClusterSync? _cluster;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _lock = new();
    private Running? _running;
    private string? _problem;
    private int _disposed;

    private sealed record Running(MeshGateway Gateway, MemberIdentity Identity, NetNs Ns, CancellationTokenSource Stop, Task Task, string Fingerprint);

    /// <param name="cluster">The cluster sync, for the Node objects; null for a site.</param>
    public MeshFeature(AgentOptions options, ClusterSync? cluster, ILoggerFactory loggers, TimeProvider? time = null)
    {
        _options = options;
        _mesh = options.Mesh;
        _cluster = cluster;
        _loggers = loggers;
        _logger = loggers.CreateLogger<MeshFeature>();
        _time = time ?? TimeProvider.System;
        cluster?.Subscribe([ResourceKinds.Nodes], _ => _wake.Writer.TryWrite(true));
    }

    /// <summary>The running gateway, or null when this node is not one (or it could not start: see <see cref="Problem"/>).</summary>
    public MeshGateway? Gateway => _running?.Gateway;

    /// <summary>Why this node's gateway does not run although it should; null when it runs or is not wanted.</summary>
    public string? Problem => _problem;

    public MeshOptions Options => _mesh;

    /// <summary>Whether this node should run a gateway, as last decided.</summary>
    public bool IsGateway { get; private set; }

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
                    await ReconcileAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _problem = e.Message;
                    Log.GatewayFailed(_logger, e.Message);
                }
                using var retry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                // A gateway that could not start (no certificate yet) is tried again; otherwise Node changes wake us.
                retry.CancelAfter(_problem is null ? TimeSpan.FromMinutes(5) : TimeSpan.FromSeconds(10));
                try
                {
                    await _wake.Reader.WaitToReadAsync(retry.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        // The agent stops: the device and its tunnels stay (WireGuard outlives the agent; the next one adopts them).
        if (await StopAsync(removeDevice: false).ConfigureAwait(false))
            Log.GatewayLeftRunning(_logger, _mesh.Interface);
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var wanted = Want();
        IsGateway = wanted is not null;
        var running = _running;
        if (running is not null && (wanted is null || wanted.Value.Fingerprint != running.Fingerprint))
        {
            // No longer a gateway: its device goes. A changed announcement (new addresses) restarts the gateway on the same device.
            await StopAsync(removeDevice: wanted is null).ConfigureAwait(false);
            if (wanted is null)
                Log.GatewayStopped(_logger, _mesh.Interface);
        }
        if (wanted is null)
        {
            _problem = null;
            return;
        }
        if (_running is not null)
            return;
        Start(wanted.Value.Announcement, wanted.Value.Fingerprint, cancellationToken);
        _problem = null;
    }

    /// <summary>What this node's gateway would announce, or null when the node is not a gateway.</summary>
    private (GatewayAnnouncement Announcement, string Fingerprint)? Want()
    {
        IReadOnlyList<IPEndPoint> endpoints = _mesh.Endpoints;
        if (_mesh.SiteName is null)
        {
            var problems = new List<string>();
            var node = _cluster!.Snapshot().Nodes.FirstOrDefault(n => n.Metadata?.Name == _options.NodeName);
            if (node is null)
                return null;
            var local = NodeAddressing.FromNode(node, problems, _mesh.GatewayLabel);
            if (!local.Gateway)
                return null;
            if (endpoints.Count == 0)
                endpoints = local.Addresses.Select(a => new IPEndPoint(a, _mesh.ListenPort)).ToArray();
        }
        var prefixes = _mesh.SiteName is null
            ? _options.Routes.ClusterCidrs.Concat(_options.Routes.ServiceCidrs).Distinct().ToArray()
            : null; // a site announces what its certificate authorizes: known once the identity is loaded
        var gateway = GatewayName(_mesh.SiteName ?? _options.NodeName);
        var fingerprint = string.Join(",", endpoints.Select(e => _mesh.PathNames.TryGetValue(e, out var name) ? $"{name}={e}" : e.ToString())) + "|" + (prefixes is null ? "" : string.Join(",", prefixes)) + "|" + gateway + ":" + _mesh.ProbePort;
        return (new GatewayAnnouncement(endpoints, prefixes ?? [], gateway, _mesh.ProbePort), fingerprint);
    }

    /// <summary>A gateway's name in its announcements (see <see cref="MemberIds.GatewayNameOf"/>).</summary>
    public static string GatewayName(string nodeName) => MemberIds.GatewayNameOf(nodeName);

    private void Start(GatewayAnnouncement announcement, string fingerprint, CancellationToken cancellationToken)
    {
        var identity = MemberIdentity.Load(_mesh.KeysDirectory, _mesh.SetKeys);
        NetNs? ns = null;
        try
        {
            if (identity.MemberId != _mesh.MemberId)
                throw new InvalidDataException($"the member certificate in {_mesh.KeysDirectory} is for '{identity.MemberId}', but this agent is '{_mesh.MemberId}'");
            if (_mesh.SiteName is not null)
            {
                announcement = announcement with { Prefixes = identity.Certificate.AuthorizedPrefixes };
            }
            else
            {
                if (announcement.Prefixes.Count == 0)
                    throw new InvalidDataException("the mesh needs this cluster's ranges: set cluster-cidr (and service-cidr) in patronus-config");
                foreach (var prefix in announcement.Prefixes)
                {
                    if (!identity.Certificate.AuthorizedPrefixes.Any(a => NetworkRanges.Within(prefix, a)))
                        throw new InvalidDataException($"this cluster's range {prefix} is not authorized by its member certificate ({string.Join(", ", identity.Certificate.AuthorizedPrefixes)}): every member would refuse our announcements");
                }
            }
            ns = _options.Netns is { } path ? NetNs.OpenPath(path) : NetNs.Current();
            var endpoints = announcement.Endpoints.Count > 0 ? announcement.Endpoints : HostEndpoints(ns);
            announcement = announcement with { Endpoints = endpoints };
            var trust = new MeshTrust(_mesh.SetKeys, identity.MemberId, announcement.Prefixes);
            var discovery = new DiscoveryOptions
            {
                Port = _mesh.DiscoveryPort,
                Peers = _mesh.RemoteClusters.Select(r => new IPEndPoint(r.Endpoint.Address, _mesh.DiscoveryPort)).ToArray(),
                MulticastGroup = _mesh.MulticastGroup,
                Interval = _mesh.AnnounceInterval,
            };
            var tunnel = new TunnelOptions { Interface = _mesh.Interface, ListenPort = _mesh.ListenPort, KeyRotation = _mesh.KeyRotation, ExternalDevice = _mesh.ExternalWireGuardGo, PathNames = _mesh.PathNames };
            var gateway = new MeshGateway(identity, trust, announcement, discovery, tunnel, ns, _loggers, _time);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var task = Task.Run(() => gateway.RunAsync(stop.Token), CancellationToken.None);
            // The gateway retries what fails inside it; anything that still ends it must at least be said.
            _ = task.ContinueWith(t => Log.GatewayFailed(_logger, t.Exception!.GetBaseException().Message), CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            lock (_lock)
                _running = new Running(gateway, identity, ns, stop, task, fingerprint);
            Log.GatewayStarted(_logger, identity.MemberId, _mesh.Interface, string.Join(", ", announcement.Endpoints), string.Join(", ", announcement.Prefixes));
        }
        catch
        {
            identity.Dispose();
            ns?.Dispose();
            throw;
        }
    }

    /// <summary>A site's endpoints when none are configured: its global addresses, on the WireGuard port.</summary>
    private IReadOnlyList<IPEndPoint> HostEndpoints(NetNs ns) =>
        ns.Run(() =>
        {
            using var netlink = RtNetlink.Open();
            return netlink.AddrList().Where(a => a.Scope == 0).Select(a => new IPEndPoint(a.Address.Address, _mesh.ListenPort)).ToArray();
        });

    /// <summary>Stops the running gateway; false when none ran.</summary>
    private async Task<bool> StopAsync(bool removeDevice)
    {
        Running? running;
        lock (_lock)
        {
            running = _running;
            _running = null;
        }
        if (running is null)
            return false;
        await running.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await running.Task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.GatewayFailed(_logger, e.Message);
        }
        running.Gateway.Stop(removeDevice);
        running.Gateway.Dispose();
        running.Identity.Dispose();
        running.Ns.Dispose();
        running.Stop.Dispose();
        return true;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        StopAsync(removeDevice: false).GetAwaiter().GetResult();
    }
}
