using k8s.Models;

namespace Patronus.Agent.Services.Merge;

/// <summary>
/// What a ServiceExport's <c>status.conditions</c> must hold, from the conditions the merge computed and what the object
/// holds now. Pure. A condition's lastTransitionTime moves only when its status does (metav1.Condition's contract: a new
/// reason or message under the same status keeps the time), so a status that says the same is never written again.
/// </summary>
public static class ExportStatus
{
    private static readonly HashSet<string> Ours = [ExportConditions.Valid, ExportConditions.Ready, ExportConditions.Conflict];

    /// <summary>
    /// The conditions to write, or null when <paramref name="current"/> already says what <paramref name="computed"/> says.
    /// Conditions of other types (not ours to keep) stay as they are, after ours. <paramref name="now"/> is taken to the
    /// second, as the API server stores it (RFC 3339), so what is written compares equal to what is read back.
    /// </summary>
    public static IList<V1Condition>? Next(IReadOnlyList<ExportCondition> computed, IList<V1Condition>? current, long? generation, DateTime now)
    {
        var at = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        var held = current ?? [];
        var next = new List<V1Condition>();
        foreach (var condition in computed)
        {
            var status = condition.Status.ToString();
            var before = held.FirstOrDefault(c => c.Type == condition.Type);
            next.Add(new V1Condition
            {
                Type = condition.Type,
                Status = status,
                Reason = condition.Reason,
                Message = condition.Message,
                ObservedGeneration = generation,
                LastTransitionTime = before is not null && before.Status == status ? before.LastTransitionTime : at,
            });
        }
        next.AddRange(held.Where(c => !Ours.Contains(c.Type) && next.All(n => n.Type != c.Type)));
        return Same(next, held) ? null : next;
    }

    private static bool Same(IReadOnlyList<V1Condition> next, IList<V1Condition> held) =>
        next.Count == held.Count
        && next.All(n => held.Any(h => h.Type == n.Type && h.Status == n.Status && h.Reason == n.Reason && h.Message == n.Message
            && h.ObservedGeneration == n.ObservedGeneration && Seconds(h.LastTransitionTime) == Seconds(n.LastTransitionTime)));

    private static long Seconds(DateTime at) => DateTime.SpecifyKind(at, DateTimeKind.Utc).Ticks / TimeSpan.TicksPerSecond;
}
