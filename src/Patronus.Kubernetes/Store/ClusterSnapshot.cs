using k8s;
using k8s.Models;
using Patronus.Kubernetes.Kinds;

namespace Patronus.Kubernetes.Store;

/// <summary>The cluster as the store held it at one <see cref="Version"/>; each kind's objects sorted by namespace/name.</summary>
public sealed class ClusterSnapshot(long version, IReadOnlyDictionary<Type, IReadOnlyList<IKubernetesObject<V1ObjectMeta>>> objects)
{
    private readonly Dictionary<Type, object> _typed = [];

    public long Version { get; } = version;

    /// <summary>Every object of one kind; empty for a kind the store does not keep.</summary>
    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Of(ResourceKind kind) =>
        objects.TryGetValue(kind.ObjectType, out var list) ? list : [];

    /// <summary>Every object of one kind, typed: <c>snapshot.Of&lt;V1Service&gt;()</c>.</summary>
    public IReadOnlyList<T> Of<T>() where T : class, IKubernetesObject<V1ObjectMeta>
    {
        lock (_typed)
        {
            if (!_typed.TryGetValue(typeof(T), out var typed))
                _typed[typeof(T)] = typed = (objects.TryGetValue(typeof(T), out var list) ? list : []).Cast<T>().ToArray();
            return (IReadOnlyList<T>)typed;
        }
    }

    // Shorthands for the kinds today's features read.
    public IReadOnlyList<V1Pod> Pods => Of<V1Pod>();

    public IReadOnlyList<V1Namespace> Namespaces => Of<V1Namespace>();

    public IReadOnlyList<V1NetworkPolicy> NetworkPolicies => Of<V1NetworkPolicy>();

    public IReadOnlyList<V1Node> Nodes => Of<V1Node>();
}
