using k8s;
using k8s.Models;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Kubernetes.Kinds;

/// <summary>
/// Every kind the agent lists and watches, and the one place to add another: the informers, the cluster store
/// and its snapshots, the manifest loader and the manifest set all read this table. A custom resource needs its
/// object and list classes (<c>IKubernetesObject&lt;V1ObjectMeta&gt;</c>, <c>IItems&lt;T&gt;</c>) and a line here.
/// The order is the order in which a manifest set lists its objects (namespaces before what lives in them).
/// </summary>
public static class ResourceKinds
{
    public static readonly ResourceKind<V1Namespace, V1NamespaceList> Namespaces = new("Namespace", "v1", "namespaces", namespaced: false);
    public static readonly ResourceKind<V1Pod, V1PodList> Pods = new("Pod", "v1", "pods", namespaced: true);
    public static readonly ResourceKind<V1NetworkPolicy, V1NetworkPolicyList> NetworkPolicies = new("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", namespaced: true);
    public static readonly ResourceKind<V1Node, V1NodeList> Nodes = new("Node", "v1", "nodes", namespaced: false);
    public static readonly ResourceKind<V1Service, V1ServiceList> Services = new("Service", "v1", "services", namespaced: true);
    public static readonly ResourceKind<V1EndpointSlice, V1EndpointSliceList> EndpointSlices = new("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", namespaced: true);


    // The MCS API (KEP-1645). Optional: a cluster without the CRDs has no exports and no imports, and the agent
    // still syncs (deploy/mcs/ installs them where no other MCS implementation has).
    public static readonly ResourceKind<V1Alpha1ServiceExport, V1Alpha1ServiceExportList> ServiceExports =
        new(V1Alpha1ServiceExport.KindName, V1Alpha1ServiceExport.GroupVersion, "serviceexports", namespaced: true, optional: true);
    public static readonly ResourceKind<V1Alpha1ServiceImport, V1Alpha1ServiceImportList> ServiceImports =
        new(V1Alpha1ServiceImport.KindName, V1Alpha1ServiceExport.GroupVersion, "serviceimports", namespaced: true, optional: true);

    public static readonly IReadOnlyList<ResourceKind> All = [Namespaces, Pods, NetworkPolicies, Nodes, Services, EndpointSlices, ServiceExports, ServiceImports];

    /// <summary>The registered kind of an object, by its .NET type; null for a kind the agent does not read.</summary>
    public static ResourceKind? Of(IKubernetesObject<V1ObjectMeta> obj) => Of(obj.GetType());

    public static ResourceKind? Of(Type objectType) => All.FirstOrDefault(k => k.ObjectType == objectType);

    /// <summary>The registered kind with this <c>kind</c> name, or null.</summary>
    public static ResourceKind? Named(string kind) => All.FirstOrDefault(k => k.Kind == kind);
}
