using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.State;

namespace Patronus.Cli.Lab.Running;

/// <summary>Finding a running lab and one of its clusters by the names a user gives (or leaves out).</summary>
internal static class LabAccess
{
    /// <exception cref="LabException">No such lab; the message names the labs there are.</exception>
    public static LabRecord Load(LabStore store, string lab)
    {
        if (store.Load(lab) is { } record)
            return record;
        var labs = store.List();
        throw new LabException(labs.Count == 0
            ? $"there is no lab {lab}: make one with `patronus lab up -f LAB.yaml`"
            : $"there is no lab {lab} (labs: {string.Join(", ", labs)}); choose one with --name");
    }

    /// <summary>The running lab, refusing one still being built (or whose build died: it can only be taken down).</summary>
    public static LabRecord LoadUp(LabStore store, string lab)
    {
        var record = Load(store, lab);
        if (record.Phase != LabRecord.Up)
            throw new LabException($"lab {lab} is not up ({record.Phase}{(record.Phase == LabRecord.Building ? ": still being built, or its build was killed" : "")}); `patronus lab down --name {lab}` removes it");
        return record;
    }

    /// <summary>The cluster named by --cluster, which may be left out when the lab has one.</summary>
    public static ClusterPlan Cluster(LabRecord record, string? id)
    {
        if (id is null)
        {
            if (record.Plan.Clusters.Count == 1)
                return record.Plan.Clusters[0];
            throw new LabException($"lab {record.Name} has clusters {string.Join(", ", record.Plan.Clusters.Select(c => c.Id))}: choose one with --cluster");
        }
        return record.Plan.Cluster(id)
            ?? throw new LabException($"lab {record.Name} has no cluster {id} (clusters: {string.Join(", ", record.Plan.Clusters.Select(c => c.Id))})");
    }
}
