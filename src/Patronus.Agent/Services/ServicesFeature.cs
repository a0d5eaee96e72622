using System.Threading.Channels;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Hosting;
using Patronus.Agent.Mesh;
using Patronus.Agent.Paths;
using Patronus.Agent.Services.ClusterSetIp;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Services.Dns;
using Patronus.Agent.Services.Exchange;
using Patronus.Agent.Services.Exports;
using Patronus.Agent.Services.Import;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Agent.Services.Writing;
using Patronus.Agent.Sync;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Kinds.Multicluster;
using Patronus.Mesh.Identity;
using Patronus.Netlink;

namespace Patronus.Agent.Services;

/// <summary>
/// Multi-cluster services (KEP-1645) on this node. On a gateway: computes this cluster's exports from its ServiceExports,
/// Services and EndpointSlices, tells the other clusters over the signed service exchange, hears theirs, and (the one
/// writer of the cluster, by leadership) merges them into ServiceImports and per-cluster EndpointSlices, withdrawing the
/// endpoints of clusters not heard from. On every node: programs the ClusterSetIPs from the imports the cluster holds,
/// and answers clusterset.local from them.
/// </summary>
public sealed partial class ServicesFeature : IDisposable
{
    private readonly AgentOptions _options;
    private readonly ServicesOptions _services;
    private readonly ClusterSync _cluster;
    private readonly MeshFeature? _mesh;
    private readonly PathsFeature? _paths;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ClusterSetIpAllocator _allocator;
    private readonly IImportWriter _writer;
    private readonly IWriterLeadership _leadership;
    private readonly ExportStatusWriter _statuses;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private Exchanging? _exchange;
    private ClusterSetDatapath? _datapath;
    private ClusterSetDnsServer? _dns;
    private string? _programmed;
    private string? _dnsProblem;
    private string? _statusProblem;
    private volatile ServicesStatus _status;
    private IReadOnlyDictionary<ServiceKey, IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>>> _conditions = new Dictionary<ServiceKey, IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>>>();
    private int _disposed;

    private sealed record Exchanging(ServiceExchange Exchange, MemberIdentity Identity, NetNs Ns, CancellationTokenSource Stop, Task Task);

    /// <param name="paths">The paths feature, whose verdict that every path to a cluster is down withdraws the cluster's
    /// endpoints before its heartbeats are missed; null: the heartbeats alone decide.</param>
    public ServicesFeature(AgentOptions options, ClusterSync cluster, MeshFeature? mesh, IImportWriter writer, IWriterLeadership leadership, ILoggerFactory loggers,
        TimeProvider? time = null, PathsFeature? paths = null)
    {
        _options = options;
        _services = options.Services;
        _cluster = cluster;
        _mesh = mesh;
        _paths = paths;
        _writer = writer;
        _leadership = leadership;
        _statuses = new ExportStatusWriter(writer, time);
        _loggers = loggers;
        _logger = loggers.CreateLogger<ServicesFeature>();
        _time = time ?? TimeProvider.System;
        _allocator = ClusterSetIpAllocator.Parse(_services.ClusterSetIpRanges!);
        _status = new ServicesStatus { ClusterId = options.Mesh.ClusterId ?? "" };
        cluster.Subscribe([ResourceKinds.ServiceExports, ResourceKinds.Services, ResourceKinds.EndpointSlices, ResourceKinds.ServiceImports, ResourceKinds.Nodes, ResourceKinds.Namespaces],
            _ => Wake());
        if (paths is not null)
            paths.ReachabilityChanged += Wake;
    }

    /// <summary>What <c>patronus mesh services</c> shows.</summary>
    public ServicesStatus Status => _status;

    private void Wake() => _wake.Writer.TryWrite(true);

    public async Task RunAsync(Task synced, CancellationToken cancellationToken)
    {
        await synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _datapath = new ClusterSetDatapath(_options.Netns, _loggers.CreateLogger<ClusterSetDatapath>());
            if (_services.DnsAddress is { } address)
            {
                try
                {
                    var dns = new ClusterSetDnsServer(address, _loggers.CreateLogger<ClusterSetDnsServer>());
                    // The server's sockets are made in Start: in the node's namespace.
                    using var ns = _options.Netns is { } path ? NetNs.OpenPath(path) : NetNs.Current();
                    ns.Run(() => dns.Start());
                    _dns = dns;
                    Log.DnsServing(_logger, address.ToString());
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or InvalidOperationException)
                {
                    // The rest of the feature does not depend on it: imports are still written and programmed.
                    _dnsProblem = $"clusterset.local is not served on {address}: {e.Message}";
                    Log.ReconcileFailed(_logger, _dnsProblem);
                }
            }
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
                    _status = _status with { Problem = e.Message };
                    Log.ReconcileFailed(_logger, e.Message);
                }
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                // Woken by the cluster and the exchange; the period catches a gateway that starts or stops (a Node event too).
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    await _wake.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await StopExchangeAsync().ConfigureAwait(false);
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var snapshot = _cluster.Snapshot();
        var clusterId = _options.Mesh.ClusterId!;
        var gateway = _mesh?.Gateway is not null;
        if (gateway && _exchange is null)
            StartExchange(cancellationToken);
        else if (!gateway && _exchange is not null)
            await StopExchangeAsync().ConfigureAwait(false);

        var exportObjects = snapshot.Of<V1Alpha1ServiceExport>();
        var serviceObjects = snapshot.Of<V1Service>();
        var sliceObjects = snapshot.Of<V1EndpointSlice>();
        var importObjects = snapshot.Of<V1Alpha1ServiceImport>();
        var local = LocalExports.From(clusterId, exportObjects, serviceObjects, sliceObjects);
        var exchange = _exchange?.Exchange;
        exchange?.SetLocal(local.Where(e => e.Spec is { Type: not ExportedServiceType.ExternalName }).ToList());

        var writer = false;
        if (exchange is not null && _leadership.TryLead())
        {
            writer = true;
            var announced = exchange.Announced();
            var remote = exchange.RemoteExports();
            var namespaces = snapshot.Namespaces.Select(n => n.Metadata.Name)
                .Concat(serviceObjects.Select(s => s.Metadata.NamespaceProperty ?? "default"))
                .Concat(exportObjects.Select(s => s.Metadata.NamespaceProperty ?? "default"))
                .Concat(snapshot.Pods.Select(p => p.Metadata.NamespaceProperty ?? "default"))
                .ToHashSet(StringComparer.Ordinal);
            var plan = ImportPlan.Make([.. local, .. remote], c => c == clusterId || Reachable(exchange, c), namespaces.Contains,
                importObjects, sliceObjects, _allocator,
                key => remote.Where(e => e.Service == key).Select(e => e.ClusterId).Concat(announced.Contains(key) ? [clusterId] : []).ToHashSet(StringComparer.Ordinal));
            var (written, removed) = await _writer.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
            if (written + removed > 0)
                Log.ImportsWritten(_logger, written, removed, plan.Imports.Count);
            _conditions = plan.Conditions;
            try
            {
                var statuses = await _statuses.WriteAsync(clusterId, exportObjects, plan.Conditions, cancellationToken).ConfigureAwait(false);
                if (statuses > 0)
                    Log.ExportStatusWritten(_logger, statuses);
                _statusProblem = null;
            }
            catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or IOException)
            {
                // The conditions are the export's report, not the service: a refusal (an RBAC without serviceexports/status)
                // must not keep this node from programming the ClusterSetIPs below.
                _statusProblem = $"ServiceExport conditions not written: {e.Message}";
                Log.ReconcileFailed(_logger, _statusProblem);
            }
        }
        else if (exchange is null)
        {
            _leadership.Resign();
        }

        // Every node: the ClusterSetIPs and names from the imports the cluster holds.
        var view = ImportedView.From(importObjects, sliceObjects);
        var vips = view.SelectMany(i => ClusterSetVip.From(i.Service, i.ClusterSetIps, preferred: _services.PreferLocal ? clusterId : null)).ToList();
        var fingerprint = string.Join("\n", vips.Select(v => $"{v.Address} {v.Protocol} {v.Port} {v.SessionAffinity} {v.AffinityTimeoutSeconds} {string.Join(",", v.Backends)}"));
        if (fingerprint != _programmed)
        {
            _datapath!.Program(vips);
            _programmed = fingerprint;
        }
        _dns?.Update(view.Select(i => DnsService.From(i.Service, i.ClusterSetIps)));
        _status = Report(clusterId, gateway, writer, local, view, exchange);
    }

    /// <summary>A remote cluster is heard (its heartbeats) and not lost on every path the paths feature probes to it.</summary>
    private bool Reachable(ServiceExchange exchange, string cluster) => exchange.IsAlive(cluster) && !LostOnEveryPath(cluster);

    private bool LostOnEveryPath(string cluster) => _paths?.UnreachableMembers.Contains(cluster) == true;

    private ServicesStatus Report(string clusterId, bool gateway, bool writer, IReadOnlyList<ClusterExport> local, IReadOnlyList<ImportedService> view, ServiceExchange? exchange)
    {
        var now = _time.GetUtcNow();
        return new ServicesStatus
        {
            ClusterId = clusterId,
            Gateway = gateway,
            Writer = writer,
            Problem = _dnsProblem ?? (writer ? _statusProblem : null),
            Clusters = (exchange?.RemoteClusters() ?? []).Select(c => new ServicesClusterStatus { Id = c.Cluster, Alive = c.Alive && !LostOnEveryPath(c.Cluster), LastHeardSecondsAgo = Math.Round((now - c.LastHeard).TotalSeconds, 3) }).ToArray(),
            Exports = local.Select(e => new ServiceExportStatus
            {
                Namespace = e.Service.Namespace,
                Name = e.Service.Name,
                Conditions = (_conditions.TryGetValue(e.Service, out var byCluster) && byCluster.TryGetValue(clusterId, out var conditions) ? conditions : [])
                    .Select(c => new ServiceConditionStatus { Type = c.Type, Status = c.Status.ToString(), Reason = c.Reason, Message = c.Message }).ToArray(),
            }).ToArray(),
            Imports = view.Select(i => new ServiceImportStatus
            {
                Namespace = i.Service.Service.Namespace,
                Name = i.Service.Service.Name,
                Type = i.Service.Type.ToString(),
                Ips = i.ClusterSetIps.Select(ip => ip.ToString()).ToArray(),
                Ports = i.Service.Ports.Select(p => $"{(p.Name.Length == 0 ? "" : p.Name + " ")}{p.Port}/{p.Protocol}").ToArray(),
                SessionAffinity = i.Service.SessionAffinity.ToString(),
                Clusters = i.Service.Exports.Select(e => new ServiceImportClusterStatus
                {
                    Cluster = e.ClusterId,
                    Endpoints = e.Endpoints.SelectMany(p => p.Addresses).Select(a => a.ToString()).ToArray(),
                }).ToArray(),
            }).ToArray(),
        };
    }

    private void StartExchange(CancellationToken cancellationToken)
    {
        var mesh = _options.Mesh;
        var identity = MemberIdentity.Load(mesh.KeysDirectory, mesh.SetKeys);
        NetNs? ns = null;
        try
        {
            ns = _options.Netns is { } path ? NetNs.OpenPath(path) : NetNs.Current();
            var exchange = new ServiceExchange(_services, identity, mesh.SetKeys, mesh.RemoteClusters.Select(r => r.Endpoint.Address), ns,
                _loggers.CreateLogger<ServiceExchange>(), _time);
            exchange.Changed += Wake;
            var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var task = Task.Run(() => exchange.RunAsync(stop.Token), CancellationToken.None);
            _ = task.ContinueWith(t => Log.ExchangeFailed(_logger, t.Exception!.GetBaseException().Message), CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            _exchange = new Exchanging(exchange, identity, ns, stop, task);
            Log.ExchangeStarted(_logger, identity.MemberId, _services.ExchangePort, mesh.RemoteClusters.Count);
        }
        catch
        {
            identity.Dispose();
            ns?.Dispose();
            throw;
        }
    }

    private async Task StopExchangeAsync()
    {
        var running = _exchange;
        _exchange = null;
        _leadership.Resign();
        if (running is null)
            return;
        await running.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await running.Task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ExchangeFailed(_logger, e.Message);
        }
        running.Exchange.Dispose();
        running.Identity.Dispose();
        running.Ns.Dispose();
        running.Stop.Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_paths is not null)
            _paths.ReachabilityChanged -= Wake;
        StopExchangeAsync().GetAwaiter().GetResult();
        _dns?.Dispose();
        _datapath?.Dispose();
        _leadership.Dispose();
    }
}
