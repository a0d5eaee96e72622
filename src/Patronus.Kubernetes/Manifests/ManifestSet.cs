using k8s.Models;
using Patronus.Kubernetes.Mapping;

namespace Patronus.Kubernetes.Manifests;

/// <summary>The objects read from manifest files that matter to policy, and the documents or objects that were rejected.</summary>
public sealed class ManifestSet
{
    public List<V1Namespace> Namespaces { get; } = [];

    public List<V1Pod> Pods { get; } = [];

    public List<V1NetworkPolicy> Policies { get; } = [];

    public List<ObjectError> Errors { get; } = [];

    /// <summary>Where each object was read from (file:line), for error messages after mapping.</summary>
    public Dictionary<object, string> Sources { get; } = new(ReferenceEqualityComparer.Instance);
}
