using k8s;
using k8s.Models;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Writing;

/// <summary>
/// Keeps this cluster's ServiceExports' <c>status.conditions</c> as the merge computed them (the cluster's import writer
/// does it: one writer per cluster). Writes only what changes (<see cref="ExportStatus.Next"/>). Until the cluster's
/// watch brings a write back, the object it sees still holds what was there before: what was written counts as the
/// current status then, so a pass in that moment neither writes again nor moves a lastTransitionTime.
/// </summary>
public sealed class ExportStatusWriter(IImportWriter writer, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<ServiceKey, (string Basis, IList<V1Condition> Written)> _written = [];

    /// <returns>How many exports' status was written.</returns>
    public async Task<int> WriteAsync(
        string clusterId,
        IEnumerable<V1Alpha1ServiceExport> exports,
        IReadOnlyDictionary<ServiceKey, IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>>> conditions,
        CancellationToken cancellationToken)
    {
        var written = 0;
        var seen = new HashSet<ServiceKey>();
        foreach (var export in exports)
        {
            var key = new ServiceKey(export.Metadata.NamespaceProperty ?? "default", export.Metadata.Name);
            seen.Add(key);
            if (!conditions.TryGetValue(key, out var byCluster) || !byCluster.TryGetValue(clusterId, out var computed))
                continue;
            var basis = Basis(export);
            var current = _written.TryGetValue(key, out var memo) && memo.Basis == basis ? memo.Written : export.Status?.Conditions;
            var next = ExportStatus.Next(computed, current, export.Metadata.Generation, _time.GetUtcNow().UtcDateTime);
            if (next is null)
                continue;
            if (await writer.SetExportStatusAsync(export, next, cancellationToken).ConfigureAwait(false))
            {
                _written[key] = (basis, next);
                written++;
            }
            else
            {
                _written.Remove(key);
            }
        }
        foreach (var gone in _written.Keys.Where(k => !seen.Contains(k)).ToList())
            _written.Remove(gone);
        return written;
    }

    /// <summary>The export as this writer saw it: the object's identity and version, and the status it held.</summary>
    private static string Basis(V1Alpha1ServiceExport export) =>
        $"{export.Metadata.Uid} {export.Metadata.ResourceVersion} {export.Metadata.CreationTimestamp:O} {(export.Status is null ? "" : KubernetesJson.Serialize(export.Status))}";
}
