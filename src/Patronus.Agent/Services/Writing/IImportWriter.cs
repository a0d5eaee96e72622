using k8s;
using k8s.Models;
using Patronus.Agent.Services.Import;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Writing;

/// <summary>Where the cluster's imports are written: the API server, or the manifests folder of embedded mode.</summary>
public interface IImportWriter
{
    /// <summary>Creates the object, or replaces it when it differs; true when something was written.</summary>
    Task<bool> PutAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken cancellationToken);

    /// <summary>Removes the object; nothing happens when it is not there.</summary>
    Task RemoveAsync(ObjectRef obj, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="conditions"/> to the ServiceExport's <c>status.conditions</c> (its status only: what the user
    /// wrote stays); false when the export is gone, which is never brought back.
    /// </summary>
    Task<bool> SetExportStatusAsync(V1Alpha1ServiceExport export, IList<V1Condition> conditions, CancellationToken cancellationToken);
}

/// <summary>Whether this agent is the cluster's one import writer.</summary>
public interface IWriterLeadership : IDisposable
{
    /// <summary>Tries to become (or stay) the writer; true while it is.</summary>
    bool TryLead();

    /// <summary>Gives the role up (the node is no longer a gateway).</summary>
    void Resign();
}

public static class ImportWriterExtensions
{
    /// <summary>Makes the cluster's imports what <paramref name="plan"/> says: its objects put (written where they differ), its removals removed.</summary>
    /// <returns>How many objects were written, and how many removed.</returns>
    public static async Task<(int Written, int Removed)> ApplyAsync(this IImportWriter writer, ImportPlan plan, CancellationToken cancellationToken)
    {
        var written = 0;
        foreach (var obj in plan.Imports.Cast<IKubernetesObject<V1ObjectMeta>>().Concat(plan.Slices))
            written += await writer.PutAsync(obj, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        foreach (var removal in plan.Removals)
            await writer.RemoveAsync(removal, cancellationToken).ConfigureAwait(false);
        return (written, plan.Removals.Count);
    }
}
