using Patronus.Agent.Services.Model;
using static Patronus.Agent.Services.Merge.ExportConditions;

namespace Patronus.Agent.Services.Merge;

/// <summary>A port of the merged service, and the clusters whose Services expose exactly that port (only they get its traffic).</summary>
public sealed record MergedPort(string Name, string Protocol, int Port, string? AppProtocol, IReadOnlyList<string> Clusters);

/// <summary>
/// The service as the cluster set sees it (what a ServiceImport says, less the VIPs), the valid exports it was made of in
/// precedence order, and the conditions of every export, valid or not, by cluster.
/// </summary>
public sealed record MergedService(
    ServiceKey Service,
    ExportedServiceType Type,
    IReadOnlyList<MergedPort> Ports,
    SessionAffinity SessionAffinity,
    int AffinityTimeoutSeconds,
    IReadOnlyList<IpFamily> IpFamilies,
    IReadOnlyList<ClusterExport> Exports,
    IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>> Conditions)
{
    public IEnumerable<string> Clusters => Exports.Select(e => e.ClusterId);

    /// <summary>The endpoints port <paramref name="port"/> of the merged service goes to: those of the clusters exposing it, with their target port.</summary>
    public IEnumerable<(string Cluster, ReadyEndpoint Endpoint, int TargetPort)> Backends(MergedPort port) =>
        from export in Exports
        where port.Clusters.Contains(export.ClusterId)
        let target = export.Spec!.Ports.First(p => p.Name == port.Name && p.Protocol == port.Protocol && p.Port == port.Port).TargetPort
        from endpoint in export.Endpoints
        select (export.ClusterId, endpoint, target);
}

/// <summary>
/// KEP-1645's "Constraints and Conflict Resolution", as a pure function of every cluster's export of one service.
/// Exports take precedence by their ServiceExport's creationTimestamp, oldest first, ties broken by cluster name (the KEP
/// leaves ties open; the cluster name makes every cluster compute the same answer). The oldest export decides the service's
/// type (headless or not), session affinity and its config, and IP families; ports are the union of all exports' ports,
/// where a port whose name, or whose protocol and number, an older export already took for another port is left out.
/// Any difference raises Conflict=True on every valid export, with the reasons joined by commas and a message saying
/// which cluster won and why; ExternalName Services and exports without a Service are Valid=False and take no part.
/// </summary>
public static class ServiceMerger
{
    /// <summary>
    /// Merges the exports of one service. <paramref name="announced"/> says which clusters' exports have reached the cluster
    /// set (their Ready condition is True/Exported, else Unknown/Pending); null treats every valid export as announced.
    /// Returns null when no export is valid: there is nothing to import, and every imported object of the service goes.
    /// The conditions of invalid exports are then in <paramref name="invalidConditions"/>.
    /// </summary>
    public static MergedService? Merge(
        IReadOnlyList<ClusterExport> exports,
        out IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>> invalidConditions,
        IReadOnlySet<string>? announced = null)
    {
        if (exports.Select(e => e.Service).Distinct().Count() > 1)
            throw new ArgumentException($"exports of several services: {string.Join(", ", exports.Select(e => e.Service).Distinct())}", nameof(exports));
        if (exports.GroupBy(e => e.ClusterId).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"cluster '{twice.Key}' exports {exports[0].Service} twice", nameof(exports));

        var conditions = new Dictionary<string, IReadOnlyList<ExportCondition>>(StringComparer.Ordinal);
        var valid = new List<ClusterExport>();
        foreach (var export in exports)
        {
            if (export.Spec is null)
                conditions[export.ClusterId] = Invalid(Reasons.NoService, $"no Service {export.Service} in cluster {export.ClusterId}");
            else if (export.Spec.Type == ExportedServiceType.ExternalName)
                conditions[export.ClusterId] = Invalid(Reasons.InvalidServiceType, $"Service {export.Service} is of type ExternalName, which cannot be exported");
            else
                valid.Add(export);
        }
        invalidConditions = conditions;
        if (valid.Count == 0)
            return null;

        var ordered = valid.OrderBy(e => e.ExportCreated).ThenBy(e => e.ClusterId, StringComparer.Ordinal).ToList();
        var oldest = ordered[0];
        var spec = oldest.Spec!;
        var conflicts = new List<(string Reason, string Field)>();

        var ports = MergePorts(ordered, out var portConflict);
        if (portConflict)
            conflicts.Add((Reasons.PortConflict, "ports"));
        if (ordered.Any(e => IsHeadless(e.Spec!) != IsHeadless(spec)))
            conflicts.Add((Reasons.TypeConflict, "type"));
        if (ordered.Any(e => e.Spec!.SessionAffinity != spec.SessionAffinity))
            conflicts.Add((Reasons.SessionAffinityConflict, "sessionAffinity"));
        else if (ordered.Any(e => e.Spec!.EffectiveAffinityTimeoutSeconds != spec.EffectiveAffinityTimeoutSeconds))
            conflicts.Add((Reasons.SessionAffinityConfigConflict, "sessionAffinityConfig"));
        // KEP-1645: IPFamilyConflict when families that differ can leave traffic of one family with a subset of the backends.
        if (ordered.Any(e => !e.Spec!.IpFamilies.Order().SequenceEqual(spec.IpFamilies.Order())))
            conflicts.Add((Reasons.IPFamilyConflict, "ipFamilies"));

        var conflict = conflicts.Count == 0
            ? new ExportCondition(Conflict, ConditionStatus.False, Reasons.NoConflicts, "")
            : new ExportCondition(Conflict, ConditionStatus.True, string.Join(",", conflicts.Select(c => c.Reason)),
                $"{string.Join(", ", conflicts.Select(c => c.Field))} differ between the exporting clusters; " +
                $"cluster {oldest.ClusterId} has the oldest export ({oldest.ExportCreated.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}) and its values win" +
                (portConflict ? "; the ports are the union of the exports' ports, each only to the clusters that expose it" : ""));
        foreach (var export in ordered)
        {
            var ready = announced is null || announced.Contains(export.ClusterId)
                ? new ExportCondition(Ready, ConditionStatus.True, Reasons.Exported, $"announced to the cluster set by cluster {export.ClusterId}")
                : new ExportCondition(Ready, ConditionStatus.Unknown, Reasons.Pending, "not yet announced to the cluster set");
            conditions[export.ClusterId] = [new ExportCondition(Valid, ConditionStatus.True, Reasons.Valid, ""), ready, conflict];
        }

        return new MergedService(
            oldest.Service,
            IsHeadless(spec) ? ExportedServiceType.Headless : ExportedServiceType.ClusterSetIP,
            ports,
            spec.SessionAffinity,
            spec.EffectiveAffinityTimeoutSeconds,
            spec.IpFamilies,
            ordered,
            conditions);
    }

    private static bool IsHeadless(ExportedServiceSpec spec) => spec.Type == ExportedServiceType.Headless;

    private static ExportCondition[] Invalid(string reason, string message) =>
    [
        new(Valid, ConditionStatus.False, reason, message),
        new(Ready, ConditionStatus.False, Reasons.Failed, "the export is not valid"),
    ];

    /// <summary>
    /// The union of the exports' ports in precedence order. KEP-1645: the merged ports may hold no name twice (the empty
    /// name included) and no protocol and port twice; a later export's port that breaks either rule is left out, so the
    /// oldest export's port wins. Any export whose ports are not exactly the merged ports is a PortConflict.
    /// </summary>
    private static List<MergedPort> MergePorts(List<ClusterExport> ordered, out bool conflict)
    {
        var merged = new List<(ExportedPort Port, List<string> Clusters)>();
        foreach (var export in ordered)
        {
            foreach (var port in export.Spec!.Ports)
            {
                var same = merged.FindIndex(m => m.Port.SameServicePort(port));
                if (same >= 0)
                {
                    merged[same].Clusters.Add(export.ClusterId);
                    continue;
                }
                var taken = merged.Any(m => m.Port.Name == port.Name || (m.Port.Protocol == port.Protocol && m.Port.Port == port.Port));
                if (!taken)
                    merged.Add((port, [export.ClusterId]));
            }
        }
        conflict = ordered.Any(e => e.Spec!.Ports.Count != merged.Count || merged.Any(m => !m.Clusters.Contains(e.ClusterId)));
        return merged.Select(m => new MergedPort(m.Port.Name, m.Port.Protocol, m.Port.Port, m.Port.AppProtocol, m.Clusters)).ToList();
    }
}
