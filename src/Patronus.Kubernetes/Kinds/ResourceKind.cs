using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Kubernetes.Informers;

namespace Patronus.Kubernetes.Kinds;

/// <summary>
/// One kind of Kubernetes object the agent reads: everything the informer, the store, the manifest loader and
/// the manifest set need to know about it, so that a new kind is one line in <see cref="ResourceKinds"/>.
/// Built-in kinds and custom resources (a CRD's object and list classes, such as the MCS API's ServiceExport)
/// are described the same way: a group/version, a plural for the API path, scope, and the .NET types the
/// JSON is read into.
/// </summary>
public abstract class ResourceKind
{
    private protected ResourceKind(string kind, string apiVersion, string plural, bool namespaced, bool optional)
    {
        Kind = kind;
        ApiVersion = apiVersion;
        Plural = plural;
        Namespaced = namespaced;
        Optional = optional;
    }

    /// <summary>The object's <c>kind</c>, as manifests and the API server spell it: <c>Pod</c>.</summary>
    public string Kind { get; }

    /// <summary><c>v1</c> for the core group, <c>GROUP/VERSION</c> otherwise (<c>networking.k8s.io/v1</c>).</summary>
    public string ApiVersion { get; }

    /// <summary>The resource name in the API path: <c>pods</c>.</summary>
    public string Plural { get; }

    /// <summary>Whether objects live in a namespace (Pods) or in the cluster (Nodes, Namespaces).</summary>
    public bool Namespaced { get; }

    /// <summary>
    /// A custom resource whose CRD a cluster may not have installed (the MCS API's ServiceExport): an API server
    /// that answers its list with 404 has none of them, the informer counts as synced, and it looks again later.
    /// A missing built-in kind stays an error.
    /// </summary>
    public bool Optional { get; }

    /// <summary>The API group; empty for the core group.</summary>
    public string Group => ApiVersion.Contains('/') ? ApiVersion[..ApiVersion.IndexOf('/')] : "";

    /// <summary>The collection across all namespaces, relative to the API server: <c>api/v1/pods</c>, <c>apis/GROUP/VERSION/PLURAL</c>.</summary>
    public string CollectionPath => Group.Length == 0 ? $"api/{ApiVersion}/{Plural}" : $"apis/{ApiVersion}/{Plural}";

    public abstract Type ObjectType { get; }

    public abstract Type ListType { get; }

    /// <summary>Reads one object of this kind from its JSON; null for a JSON null.</summary>
    public abstract IKubernetesObject<V1ObjectMeta>? Deserialize(string json);

    /// <summary>A list+watch informer for this kind's collection.</summary>
    public abstract IResourceSource CreateInformer(ApiConnection connection, ResourceInformerOptions options, ILoggerFactory loggers);

    public override string ToString() => Kind;
}

/// <summary>A kind whose objects are read into <typeparamref name="T"/> and whose lists into <typeparamref name="TList"/>.</summary>
public sealed class ResourceKind<T, TList>(string kind, string apiVersion, string plural, bool namespaced, bool optional = false)
    : ResourceKind(kind, apiVersion, plural, namespaced, optional)
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IItems<T>, IMetadata<V1ListMeta>
{
    public override Type ObjectType => typeof(T);

    public override Type ListType => typeof(TList);

    public override IKubernetesObject<V1ObjectMeta>? Deserialize(string json) => KubernetesJson.Deserialize<T>(json);

    public override IResourceSource CreateInformer(ApiConnection connection, ResourceInformerOptions options, ILoggerFactory loggers) =>
        new ResourceInformer<T, TList>(connection, this, options, loggers.CreateLogger("Patronus.Kubernetes.Informers." + Kind));
}
