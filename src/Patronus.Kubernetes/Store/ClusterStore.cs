using k8s;
using k8s.Models;
using Patronus.Kubernetes.Informers;

namespace Patronus.Kubernetes.Store;

/// <summary>
/// The agent's one view of the cluster, fed by informers or by a manifest folder alike. Readers take an
/// immutable <see cref="ClusterSnapshot"/>; writers raise <see cref="Changed"/> after each applied change.
/// </summary>
public sealed class ClusterStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Type, Dictionary<string, IKubernetesObject<V1ObjectMeta>>> _tables =
        ResourceKinds.All.ToDictionary(k => k.ObjectType, _ => new Dictionary<string, IKubernetesObject<V1ObjectMeta>>(StringComparer.Ordinal));
    private ClusterSnapshot? _snapshot;
    private long _version;

    /// <summary>Raised after a change is in the store (outside the store's lock).</summary>
    public event Action<ResourceEvent>? Changed;

    /// <summary>Increases with every applied change.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Subscribes to a source so its changes land here.</summary>
    public void Attach(IResourceSource source) => source.Changed += Apply;

    public void Apply(ResourceEvent change)
    {
        if (!_tables.TryGetValue(change.Object.GetType(), out var table))
            return;
        var key = Key(change.Object);
        lock (_lock)
        {
            if (change.Type == ResourceEventType.Deleted)
            {
                if (!table.Remove(key))
                    return;
            }
            else
            {
                table[key] = change.Object;
            }
            _snapshot = null;
            _version++;
        }
        Changed?.Invoke(change);
    }

    /// <summary>One object by namespace and name (namespace null for cluster-scoped kinds), or null.</summary>
    public TItem? Find<TItem>(string? ns, string name) where TItem : class, IKubernetesObject<V1ObjectMeta>
    {
        lock (_lock)
            return _tables.TryGetValue(typeof(TItem), out var table) && table.TryGetValue($"{ns}/{name}", out var found) ? (TItem)found : null;
    }

    public ClusterSnapshot Snapshot()
    {
        lock (_lock)
        {
            return _snapshot ??= new ClusterSnapshot(
                _version,
                Items<V1Pod>(),
                Items<V1Namespace>(),
                Items<V1NetworkPolicy>(),
                Items<V1Node>(),
                Items<V1Service>(),
                Items<V1EndpointSlice>());
        }
    }

    private IReadOnlyList<TItem> Items<TItem>() where TItem : IKubernetesObject<V1ObjectMeta> =>
        _tables[typeof(TItem)].OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (TItem)p.Value).ToArray();

    internal static string Key(IKubernetesObject<V1ObjectMeta> obj) => $"{obj.Metadata?.NamespaceProperty}/{obj.Metadata?.Name}";
}

/// <summary>The cluster as the store held it at one <see cref="Version"/>; lists are sorted by namespace/name.</summary>
public sealed record ClusterSnapshot(
    long Version,
    IReadOnlyList<V1Pod> Pods,
    IReadOnlyList<V1Namespace> Namespaces,
    IReadOnlyList<V1NetworkPolicy> NetworkPolicies,
    IReadOnlyList<V1Node> Nodes,
    IReadOnlyList<V1Service> Services,
    IReadOnlyList<V1EndpointSlice> EndpointSlices);
