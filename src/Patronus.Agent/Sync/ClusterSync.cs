using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Hosting;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Store;

namespace Patronus.Agent.Sync;

/// <summary>
/// The agent's cluster state, kept in step with the cluster: owns the sources (informers, or a manifest folder), the
/// store they feed and the supervisor that restarts a source that stops. Features read it (<see cref="Snapshot"/>,
/// <see cref="Find{T}"/>), wait for <see cref="Synced"/>, and <see cref="Subscribe"/> to the kinds they need.
/// </summary>
/// <remarks>
/// A subscriber first receives every object of its kinds the store already holds (as Added), then every later
/// change, with no gap and nothing twice: applying a change to the store and passing it on happen under one lock,
/// which a subscription takes too. So a feature may subscribe before or after the sources start and still see the
/// whole cluster, and never sees a change out of the store's order.
/// </remarks>
public sealed partial class ClusterSync : IReadinessCheck
{
    private readonly ClusterStore _store = new();
    private readonly SourceSupervisor _supervisor;
    private readonly ILogger _logger;
    private readonly Lock _dispatch = new();
    private Subscription[] _subscriptions = [];

    public ClusterSync(IReadOnlyList<IResourceSource> sources, ILogger<ClusterSync> logger, TimeSpan? initialBackoff = null, TimeSpan? maxBackoff = null)
    {
        _logger = logger;
        _supervisor = new SourceSupervisor(sources, logger, initialBackoff, maxBackoff);
        foreach (var source in sources)
            source.Changed += change => Apply(change);
    }

    public IReadOnlyList<IResourceSource> Sources => _supervisor.Sources;

    /// <summary>Completes once every source has delivered its first complete view.</summary>
    public Task Synced => _supervisor.Synced;

    /// <summary>Raised on each failure of a source's run, before it is restarted.</summary>
    public event Action<IResourceSource, Exception>? SourceFailed
    {
        add => _supervisor.SourceFailed += value;
        remove => _supervisor.SourceFailed -= value;
    }

    /// <summary>Null while every source runs and is whole; otherwise which one is not (it is being restarted), and why.</summary>
    public string? NotReadyReason => _supervisor.Problem;

    public ClusterSnapshot Snapshot() => _store.Snapshot();

    /// <summary>One object by namespace and name (namespace null for cluster-scoped kinds), or null.</summary>
    public T? Find<T>(string? ns, string name) where T : class, IKubernetesObject<V1ObjectMeta> => _store.Find<T>(ns, name);

    /// <summary>
    /// Calls <paramref name="handler"/> with every object of <paramref name="kinds"/> held now (as Added), then with
    /// each change to them, on the source's thread and one at a time: the handler must be quick (queue the work).
    /// Disposing the result ends the subscription.
    /// </summary>
    public IDisposable Subscribe(IReadOnlyCollection<ResourceKind> kinds, Action<ResourceEvent> handler)
    {
        var subscription = new Subscription(this, kinds.Select(k => k.ObjectType).ToHashSet(), handler);
        lock (_dispatch)
        {
            var snapshot = _store.Snapshot();
            foreach (var kind in kinds)
                foreach (var obj in snapshot.Of(kind))
                    handler(new ResourceEvent(ResourceEventType.Added, obj));
            _subscriptions = [.. _subscriptions, subscription];
        }
        return subscription;
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_dispatch)
            _subscriptions = _subscriptions.Where(s => s != subscription).ToArray();
    }

    /// <summary>Runs every source, restarting any that stops, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var running = _supervisor.RunAsync(cancellationToken);
        try
        {
            await Synced.WaitAsync(cancellationToken).ConfigureAwait(false);
            var snapshot = Snapshot();
            Log.Synced(_logger, string.Join(", ", ResourceKinds.All.Select(k => $"{snapshot.Of(k).Count} {k.Kind}")));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await running.ConfigureAwait(false);
    }

    /// <summary>A change as a source raised it: into the store, then to the subscribers of its kind.</summary>
    internal void Apply(ResourceEvent change)
    {
        lock (_dispatch)
        {
            if (!_store.Apply(change))
                return;
            foreach (var subscription in _subscriptions)
            {
                if (!subscription.Types.Contains(change.Object.GetType()))
                    continue;
                try
                {
                    subscription.Handler(change);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // One feature's bug must not stop the source that feeds them all.
                    Log.SubscriberFailed(_logger, change.Object.Kind ?? change.Object.GetType().Name, e);
                }
            }
        }
    }

    private sealed class Subscription(ClusterSync sync, HashSet<Type> types, Action<ResourceEvent> handler) : IDisposable
    {
        public HashSet<Type> Types { get; } = types;

        public Action<ResourceEvent> Handler { get; } = handler;

        public void Dispose() => sync.Unsubscribe(this);
    }
}
