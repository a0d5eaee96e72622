using k8s;
using k8s.Models;
using Patronus.Kubernetes.Mapping;

namespace Patronus.Kubernetes.Manifests;

/// <summary>
/// The objects read from manifest files (the kinds the agent watches; policy analysis uses namespaces, pods
/// and policies), and the documents or objects that were rejected.
/// </summary>
public sealed class ManifestSet
{
    public List<V1Namespace> Namespaces { get; } = [];

    public List<V1Pod> Pods { get; } = [];

    public List<V1NetworkPolicy> Policies { get; } = [];

    public List<V1Node> Nodes { get; } = [];

    public List<V1Service> Services { get; } = [];

    public List<V1EndpointSlice> EndpointSlices { get; } = [];

    public List<ObjectError> Errors { get; } = [];

    /// <summary>Every object read, of every kind.</summary>
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> Objects() =>
        Namespaces.Concat<IKubernetesObject<V1ObjectMeta>>(Pods).Concat(Policies).Concat(Nodes).Concat(Services).Concat(EndpointSlices);

    /// <summary>Where each object was read from (file:line), for error messages after mapping.</summary>
    public Dictionary<object, string> Sources { get; } = new(ReferenceEqualityComparer.Instance);
}
