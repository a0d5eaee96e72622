using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Patronus.Kubernetes.Kinds.Multicluster;

/// <summary>
/// <c>multicluster.x-k8s.io/v1alpha1</c> ServiceExport (KEP-1645): its presence beside a Service of the same
/// namespace and name marks that Service for export to the cluster set. Its status carries the conditions the
/// MCS implementation keeps (<c>Valid</c>, <c>Ready</c>, <c>Conflict</c>). Field names follow the upstream schema
/// (deploy/mcs/serviceexports.yaml is ours, written from it).
/// </summary>
public sealed class V1Alpha1ServiceExport : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "ServiceExport";
    public const string GroupVersion = "multicluster.x-k8s.io/v1alpha1";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = GroupVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public V1Alpha1ServiceExportSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public V1Alpha1ServiceExportStatus? Status { get; set; }
}

public sealed class V1Alpha1ServiceExportSpec
{
    /// <summary>Labels to export with the service; optional for implementations (Patronus does not export them yet).</summary>
    [JsonPropertyName("exportedLabels")]
    public IDictionary<string, string>? ExportedLabels { get; set; }

    [JsonPropertyName("exportedAnnotations")]
    public IDictionary<string, string>? ExportedAnnotations { get; set; }
}

public sealed class V1Alpha1ServiceExportStatus
{
    [JsonPropertyName("conditions")]
    public IList<V1Condition>? Conditions { get; set; }
}

public sealed class V1Alpha1ServiceExportList : IItems<V1Alpha1ServiceExport>, IMetadata<V1ListMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = V1Alpha1ServiceExport.GroupVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "ServiceExportList";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<V1Alpha1ServiceExport> Items { get; set; } = [];
}
