using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath;
using Patronus.Agent.Endpoints;
using Patronus.Agent.Hosting;
using Patronus.Agent.Sync;
using Patronus.Agent.Telemetry;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Mapping;
using Patronus.Kubernetes.Kinds;
using Patronus.Policy.Compiled;
using Patronus.Policy.Compiler;
using Patronus.Policy.Model;

namespace Patronus.Agent.Policy;

/// <summary>
/// The policy feature: cluster changes (Pods, Namespaces, NetworkPolicies, from the <see cref="ClusterSync"/>) and
/// endpoint changes → policy model → incremental compiler → datapath. One task does all of it,
/// in batches: whatever arrived while the datapath was busy is compiled and programmed together.
/// Nothing is programmed before every source has delivered its first complete view; then one
/// <see cref="IPolicyDatapath.Reconcile"/> replaces whatever rules an earlier agent left, in one transaction,
/// so a restart opens no window of open or closed traffic.
/// Only endpoints registered on this node are programmed; every pod in the cluster is a possible peer.
/// </summary>
public sealed partial class PolicyFeature : IPolicyEnforcement, IReadinessCheck
{
    /// <summary>The kinds policy is computed from.</summary>
    public static readonly IReadOnlyList<ResourceKind> Kinds = [ResourceKinds.Pods, ResourceKinds.Namespaces, ResourceKinds.NetworkPolicies];

    private readonly ClusterSync _sync;
    private readonly EndpointRegistry _registry;
    private readonly IPolicyDatapath _datapath;
    private readonly AgentMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<EndpointId, V1Pod> _clusterPods = [];
    private readonly Dictionary<EndpointId, EndpointPolicy> _programmed = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _datapathLock = new();
    private PolicyCompiler _compiler = new();
    private long _pendingSince;
    private long _processingSince;
    private bool _needsReconcile = true;
    private bool _compiled;

    public PolicyFeature(ClusterSync sync, EndpointRegistry registry, IPolicyDatapath datapath, AgentMetrics metrics, ILogger<PolicyFeature> logger)
    {
        _sync = sync;
        _registry = registry;
        _datapath = datapath;
        _metrics = metrics;
        _logger = logger;
        // Subscribed at construction, before the sync starts; were it later, the sync would hand over what it holds first.
        sync.Subscribe(Kinds, change => Enqueue(new StoreChange(change)));
        metrics.Registry.AddBeforeCollectCallback(CollectMetrics);
    }

    /// <summary>Completes once the initial sync is done and the datapath holds every local endpoint's policy.</summary>
    public Task Ready => _ready.Task;

    public bool IsReady => _ready.Task.IsCompletedSuccessfully;

    public string? NotReadyReason => IsReady ? null : "initial sync or datapath programming not done";

    /// <summary>The compiled policy currently programmed for a local pod.</summary>
    public EndpointPolicy? Programmed(EndpointId pod)
    {
        lock (_datapathLock)
            return _programmed.GetValueOrDefault(pod);
    }

    /// <summary>
    /// Asks for a pod's endpoints to be (re)programmed after a register or unregister; the task completes once
    /// the datapath call that includes them has returned, and fails with the datapath's error.
    /// </summary>
    public Task EndpointsChangedAsync(params EndpointId[] pods)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new EndpointChange(pods, done));
        return done.Task;
    }

    private void Enqueue(Work work)
    {
        Interlocked.CompareExchange(ref _pendingSince, Stopwatch.GetTimestamp(), 0);
        _work.Writer.TryWrite(work);
    }

    /// <summary>
    /// Waits for every cluster source's first complete view (the sync restarts a source that stops, also before its
    /// first sync: the agent stays up and not ready, saying why, until its cluster state is whole), then programs.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _sync.Synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = _sync.Snapshot();
        Log.Synced(_logger, snapshot.Pods.Count, snapshot.NetworkPolicies.Count);
        await ProcessAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ProcessAsync(CancellationToken cancellationToken)
    {
        var reader = _work.Reader;
        var batch = new List<Work>();
        while (!cancellationToken.IsCancellationRequested)
        {
            batch.Clear();
            while (reader.TryRead(out var work))
                batch.Add(work);
            Process(batch);
            if (_needsReconcile)
            {
                // The datapath refused: retry soon, or as soon as there is new work.
                using var retry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                retry.CancelAfter(TimeSpan.FromSeconds(2));
                try
                {
                    await reader.WaitToReadAsync(retry.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
                continue;
            }
            try
            {
                await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private void Process(List<Work> batch)
    {
        var oldest = Interlocked.Exchange(ref _pendingSince, 0);
        if (Interlocked.Read(ref _processingSince) == 0)
            Interlocked.Exchange(ref _processingSince, oldest);
        var changes = new ChangeSet();
        var dirtyPods = new HashSet<EndpointId>();
        var waiters = new List<TaskCompletionSource>();
        var initial = !_compiled;
        if (initial)
            CompileSnapshot();
        foreach (var work in batch)
        {
            switch (work)
            {
                case StoreChange:
                    // The first batch's changes are all in the snapshot it was compiled from.
                    if (!initial)
                        TryApplyStoreChange(((StoreChange)work).Change, dirtyPods, changes);
                    break;
                case EndpointChange endpoints:
                    dirtyPods.UnionWith(endpoints.Pods);
                    waiters.Add(endpoints.Done);
                    break;
            }
        }
        foreach (var pod in dirtyPods)
        {
            var model = BuildPod(pod);
            changes.Add(model is null ? _compiler.RemovePod(pod.Namespace, pod.Name) : _compiler.UpsertPod(model));
        }
        changes.Touched.UnionWith(dirtyPods);

        string? error = null;
        try
        {
            Program(changes);
        }
        catch (Exception e)
        {
            error = $"datapath: {e.Message}";
            _metrics.Errors.WithLabels("datapath").Inc();
            Log.DatapathFailed(_logger, e);
            _needsReconcile = true;
        }
        if (!_needsReconcile)
            Interlocked.Exchange(ref _processingSince, 0);
        foreach (var waiter in waiters)
        {
            if (error is null)
                waiter.TrySetResult();
            else
                waiter.TrySetException(new InvalidOperationException(error));
        }
    }

    /// <summary>
    /// Compiles the whole cluster at once after the initial sync: cheaper than one incremental update per
    /// object. Events still queued after the snapshot are applied again later, which changes nothing.
    /// </summary>
    private void CompileSnapshot()
    {
        var snapshot = _sync.Snapshot();
        foreach (var pod in snapshot.Pods)
            _clusterPods[new EndpointId(pod.Metadata.NamespaceProperty ?? PolicyModelMapper.DefaultNamespace, pod.Metadata.Name)] = pod;
        var pods = _clusterPods.Keys.Concat(_registry.Pods).Distinct().Select(BuildPod).OfType<Pod>();
        _compiler = PolicyCompiler.Create(
            snapshot.Namespaces.Select(ns => Mapped(PolicyModelMapper.ToNamespace(ns))).OfType<Namespace>(),
            pods,
            snapshot.NetworkPolicies.Select(p => Mapped(PolicyModelMapper.ToPolicy(p))).OfType<NetworkPolicy>());
        _compiled = true;
    }

    /// <summary>One object's change; an object that breaks the compiler is left out, never the whole batch.</summary>
    private void TryApplyStoreChange(ResourceEvent change, HashSet<EndpointId> dirtyPods, ChangeSet changes)
    {
        try
        {
            ApplyStoreChange(change, dirtyPods, changes);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _metrics.Errors.WithLabels("mapping").Inc();
            Log.ChangeFailed(_logger, change.Object.Kind ?? change.Object.GetType().Name, $"{change.Object.Metadata?.NamespaceProperty}/{change.Object.Metadata?.Name}", e.Message);
        }
    }

    private void ApplyStoreChange(ResourceEvent change, HashSet<EndpointId> dirtyPods, ChangeSet changes)
    {
        var deleted = change.Type == ResourceEventType.Deleted;
        switch (change.Object)
        {
            case V1Pod pod:
                var id = new EndpointId(pod.Metadata.NamespaceProperty ?? PolicyModelMapper.DefaultNamespace, pod.Metadata.Name);
                if (deleted)
                    _clusterPods.Remove(id);
                else
                    _clusterPods[id] = pod;
                dirtyPods.Add(id);
                break;
            case V1Namespace ns:
                if (deleted)
                {
                    changes.Add(_compiler.RemoveNamespace(ns.Metadata.Name));
                }
                else if (Mapped(PolicyModelMapper.ToNamespace(ns)) is { } model)
                {
                    changes.Add(_compiler.UpsertNamespace(model));
                }
                break;
            case V1NetworkPolicy policy:
                var ns2 = policy.Metadata.NamespaceProperty ?? PolicyModelMapper.DefaultNamespace;
                if (deleted)
                {
                    changes.Add(_compiler.RemovePolicy(ns2, policy.Metadata.Name));
                }
                else if (Mapped(PolicyModelMapper.ToPolicy(policy)) is { } model)
                {
                    changes.Add(_compiler.UpsertPolicy(model));
                }
                else
                {
                    // The API server would have refused it: enforce as if it did not exist.
                    changes.Add(_compiler.RemovePolicy(ns2, policy.Metadata.Name));
                }
                break;
        }
    }

    private T? Mapped<T>(MappingResult<T> result) where T : class
    {
        foreach (var error in result.Errors)
        {
            _metrics.Errors.WithLabels("mapping").Inc();
            Log.MappingFailed(_logger, error.ToString());
        }
        return result.Value;
    }

    /// <summary>
    /// A pod as policy sees it. For a pod registered here the registered addresses win: kubelet writes
    /// status.podIPs only after CNI ADD returns, and ADD waits for this very policy. A registered pod the
    /// cluster state does not know (yet) takes part with no labels.
    /// </summary>
    private Pod? BuildPod(EndpointId id)
    {
        var local = _registry.AddressesOf(id);
        Pod? fromCluster = null;
        if (_clusterPods.TryGetValue(id, out var pod))
            fromCluster = Mapped(PolicyModelMapper.ToPod(pod));
        if (fromCluster is null && local.Count == 0)
            return null;
        if (fromCluster is null)
            Log.RegisteredPodUnknown(_logger, id.ToString());
        return new Pod(
            id.Namespace,
            id.Name,
            fromCluster?.Labels ?? new Dictionary<string, string>(),
            local.Count > 0 ? local : fromCluster!.Addresses,
            fromCluster?.Ports ?? []);
    }

    private void Program(ChangeSet changes)
    {
        var local = _registry.Pods;
        _metrics.Endpoints.Set(_registry.All.Count);
        lock (_datapathLock)
        {
            if (_needsReconcile)
            {
                var all = local.Select(_compiler.Get).OfType<EndpointPolicy>().ToList();
                _datapath.Reconcile(all);
                _metrics.RuleUpdates.Inc();
                _programmed.Clear();
                foreach (var policy in all)
                    _programmed[policy.Endpoint] = policy;
                _needsReconcile = false;
                if (_ready.TrySetResult())
                    Log.Programmed(_logger, all.Count);
                return;
            }

            var candidates = new HashSet<EndpointId>(changes.Changed);
            candidates.UnionWith(changes.Removed);
            candidates.UnionWith(changes.Touched);
            candidates.UnionWith(_programmed.Keys.Where(k => !local.Contains(k)));
            var update = new List<EndpointPolicy>();
            var remove = new List<EndpointId>();
            foreach (var id in candidates)
            {
                var want = local.Contains(id) ? _compiler.Get(id) : null;
                var have = _programmed.GetValueOrDefault(id);
                if (want is null && have is not null)
                    remove.Add(id);
                else if (want is not null && (have is null || changes.Changed.Contains(id) || !ReferenceEquals(want, have)))
                    update.Add(want);
            }
            if (update.Count == 0 && remove.Count == 0)
                return;
            _datapath.Update(update, remove);
            _metrics.RuleUpdates.Inc();
            foreach (var id in remove)
                _programmed.Remove(id);
            foreach (var policy in update)
                _programmed[policy.Endpoint] = policy;
            Log.Updated(_logger, update.Count, remove.Count);
        }
    }

    private void CollectMetrics()
    {
        var since = new[] { Interlocked.Read(ref _pendingSince), Interlocked.Read(ref _processingSince) }.Where(t => t != 0).DefaultIfEmpty(0).Min();
        _metrics.SyncLag.Set(since == 0 ? 0 : Stopwatch.GetElapsedTime(since).TotalSeconds);
    }

    private abstract record Work;

    private sealed record StoreChange(ResourceEvent Change) : Work;

    private sealed record EndpointChange(EndpointId[] Pods, TaskCompletionSource Done) : Work;

    private sealed class ChangeSet
    {
        public HashSet<EndpointId> Changed { get; } = [];
        public HashSet<EndpointId> Removed { get; } = [];
        public HashSet<EndpointId> Touched { get; } = [];

        public void Add(PolicyChanges changes)
        {
            Changed.UnionWith(changes.Changed);
            Removed.UnionWith(changes.Removed);
        }
    }
}
