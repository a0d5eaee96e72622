using k8s;
using k8s.Models;

namespace Patronus.Kubernetes.Informers;

/// <summary>A resource collection the agent lists and watches, across all namespaces.</summary>
public sealed record ResourceKind(string Kind, string CollectionPath, Type ObjectType, Type ListType)
{
    public override string ToString() => Kind;
}

/// <summary>The collections the agent needs, each at its cluster-wide path.</summary>
public static class ResourceKinds
{
    public static readonly ResourceKind Pods = new("Pod", "api/v1/pods", typeof(V1Pod), typeof(V1PodList));
    public static readonly ResourceKind Namespaces = new("Namespace", "api/v1/namespaces", typeof(V1Namespace), typeof(V1NamespaceList));
    public static readonly ResourceKind Nodes = new("Node", "api/v1/nodes", typeof(V1Node), typeof(V1NodeList));
    public static readonly ResourceKind Services = new("Service", "api/v1/services", typeof(V1Service), typeof(V1ServiceList));
    public static readonly ResourceKind NetworkPolicies = new("NetworkPolicy", "apis/networking.k8s.io/v1/networkpolicies", typeof(V1NetworkPolicy), typeof(V1NetworkPolicyList));
    public static readonly ResourceKind EndpointSlices = new("EndpointSlice", "apis/discovery.k8s.io/v1/endpointslices", typeof(V1EndpointSlice), typeof(V1EndpointSliceList));

    public static readonly IReadOnlyList<ResourceKind> All = [Pods, Namespaces, Nodes, Services, NetworkPolicies, EndpointSlices];

    public static ResourceKind? ForObject(IKubernetesObject<V1ObjectMeta> obj) => All.FirstOrDefault(k => k.ObjectType == obj.GetType());
}
