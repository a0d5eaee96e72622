using k8s;
using k8s.Models;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Mapping;

namespace Patronus.Kubernetes.Manifests;

/// <summary>
/// The objects read from manifest files (the kinds of <see cref="Kinds"/>, by default every kind the agent
/// watches; policy analysis uses namespaces, pods and policies), and the documents or objects that were rejected.
/// </summary>
public sealed class ManifestSet
{
    private readonly Dictionary<Type, List<IKubernetesObject<V1ObjectMeta>>> _objects;

    /// <param name="kinds">The kinds kept; other kinds are skipped. <see cref="ResourceKinds.All"/> by default.</param>
    public ManifestSet(IReadOnlyList<ResourceKind>? kinds = null)
    {
        Kinds = kinds ?? ResourceKinds.All;
        _objects = Kinds.ToDictionary(k => k.ObjectType, _ => new List<IKubernetesObject<V1ObjectMeta>>());
    }

    /// <summary>What the loader keeps, and the order in which <see cref="Objects"/> lists them.</summary>
    public IReadOnlyList<ResourceKind> Kinds { get; }

    public List<ObjectError> Errors { get; } = [];

    /// <summary>Where each object was read from (file:line), for error messages after mapping.</summary>
    public Dictionary<object, string> Sources { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Adds an object of one of <see cref="Kinds"/>, read from <paramref name="source"/>.</summary>
    public void Add(IKubernetesObject<V1ObjectMeta> obj, string source)
    {
        if (!_objects.TryGetValue(obj.GetType(), out var list))
            throw new ArgumentException($"{obj.GetType().Name} is not one of this set's kinds", nameof(obj));
        list.Add(obj);
        Sources[obj] = source;
    }

    /// <summary>Every object read, of every kind, kind by kind in the order of <see cref="Kinds"/>.</summary>
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> Objects() => Kinds.SelectMany(k => _objects[k.ObjectType]);

    /// <summary>The objects of one kind, in the order read.</summary>
    public IReadOnlyList<T> Of<T>() where T : class, IKubernetesObject<V1ObjectMeta> =>
        _objects.TryGetValue(typeof(T), out var list) ? list.Cast<T>().ToArray() : [];

    // Shorthands for the kinds policy analysis and the lab read.
    public IReadOnlyList<V1Namespace> Namespaces => Of<V1Namespace>();

    public IReadOnlyList<V1Pod> Pods => Of<V1Pod>();

    public IReadOnlyList<V1NetworkPolicy> Policies => Of<V1NetworkPolicy>();

    public IReadOnlyList<V1Node> Nodes => Of<V1Node>();
}
