using k8s;
using k8s.Models;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Kinds;

namespace Patronus.Kubernetes.Store;

/// <summary>
/// The agent's one view of the cluster, fed by informers or by a manifest folder alike, with a table per
/// registered kind (<see cref="ResourceKinds"/>). Readers take an immutable <see cref="ClusterSnapshot"/>;
/// writers raise <see cref="Changed"/> after each applied change.
/// </summary>
public sealed class ClusterStore
{
    private readonly Lock _lock = new();
    private readonly IReadOnlyList<ResourceKind> _kinds;
    private readonly Dictionary<Type, Dictionary<string, IKubernetesObject<V1ObjectMeta>>> _tables;
    private ClusterSnapshot? _snapshot;
    private long _version;

    /// <param name="kinds">The kinds kept; objects of any other type are ignored. <see cref="ResourceKinds.All"/> by default.</param>
    public ClusterStore(IReadOnlyList<ResourceKind>? kinds = null)
    {
        _kinds = kinds ?? ResourceKinds.All;
        _tables = _kinds.ToDictionary(k => k.ObjectType, _ => new Dictionary<string, IKubernetesObject<V1ObjectMeta>>(StringComparer.Ordinal));
    }

    /// <summary>Raised after a change is in the store (outside the store's lock).</summary>
    public event Action<ResourceEvent>? Changed;

    /// <summary>Increases with every applied change.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Subscribes to a source so its changes land here.</summary>
    public void Attach(IResourceSource source) => source.Changed += change => Apply(change);

    /// <summary>Applies one change; false when it changed nothing (a kind not kept, or a delete of an object not held).</summary>
    public bool Apply(ResourceEvent change)
    {
        if (!_tables.TryGetValue(change.Object.GetType(), out var table))
            return false;
        var key = Key(change.Object);
        lock (_lock)
        {
            if (change.Type == ResourceEventType.Deleted)
            {
                if (!table.Remove(key))
                    return false;
            }
            else
            {
                table[key] = change.Object;
            }
            _snapshot = null;
            _version++;
        }
        Changed?.Invoke(change);
        return true;
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
                _kinds.ToDictionary(
                    k => k.ObjectType,
                    k => (IReadOnlyList<IKubernetesObject<V1ObjectMeta>>)_tables[k.ObjectType].OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToArray()));
        }
    }

    internal static string Key(IKubernetesObject<V1ObjectMeta> obj) => $"{obj.Metadata?.NamespaceProperty}/{obj.Metadata?.Name}";
}
