using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Patronus.Kubernetes.Kinds.Multicluster;

/// <summary>
/// <c>multicluster.x-k8s.io/v1alpha1</c> ServiceImport (KEP-1645): the cluster set's view of an exported service
/// in a consuming cluster: merged ports, <c>ClusterSetIP</c> (with one VIP per family) or <c>Headless</c>, session
/// affinity, and the clusters that export it. Field names follow the upstream schema.
/// </summary>
public sealed class V1Alpha1ServiceImport : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "ServiceImport";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = V1Alpha1ServiceExport.GroupVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public V1Alpha1ServiceImportSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public V1Alpha1ServiceImportStatus? Status { get; set; }
}

public sealed class V1Alpha1ServiceImportSpec
{
    [JsonPropertyName("ports")]
    public IList<V1Alpha1ServicePort> Ports { get; set; } = [];

    /// <summary>The ClusterSetIP VIPs, at most one per family, in the order of <see cref="IpFamilies"/>.</summary>
    [JsonPropertyName("ips")]
    public IList<string>? Ips { get; set; }

    /// <summary><c>ClusterSetIP</c> or <c>Headless</c>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = "ClusterSetIP";

    /// <summary><c>ClientIP</c> or <c>None</c>.</summary>
    [JsonPropertyName("sessionAffinity")]
    public string? SessionAffinity { get; set; }

    [JsonPropertyName("sessionAffinityConfig")]
    public V1SessionAffinityConfig? SessionAffinityConfig { get; set; }

    [JsonPropertyName("ipFamilies")]
    public IList<string>? IpFamilies { get; set; }

    [JsonPropertyName("internalTrafficPolicy")]
    public string? InternalTrafficPolicy { get; set; }

    [JsonPropertyName("trafficDistribution")]
    public string? TrafficDistribution { get; set; }
}

/// <summary>A port of an imported service: the Service's port without its targetPort or nodePort.</summary>
public sealed class V1Alpha1ServicePort
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("protocol")]
    public string? Protocol { get; set; }

    [JsonPropertyName("appProtocol")]
    public string? AppProtocol { get; set; }

    [JsonPropertyName("port")]
    public int Port { get; set; }
}

public sealed class V1Alpha1ServiceImportStatus
{
    [JsonPropertyName("clusters")]
    public IList<V1Alpha1ClusterStatus>? Clusters { get; set; }

    [JsonPropertyName("conditions")]
    public IList<V1Condition>? Conditions { get; set; }
}

public sealed class V1Alpha1ClusterStatus
{
    [JsonPropertyName("cluster")]
    public string Cluster { get; set; } = "";
}

public sealed class V1Alpha1ServiceImportList : IItems<V1Alpha1ServiceImport>, IMetadata<V1ListMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = V1Alpha1ServiceExport.GroupVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "ServiceImportList";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<V1Alpha1ServiceImport> Items { get; set; } = [];
}
