using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Hosting;

/// <summary>
/// Whether the agent is ready, and if not why: every part registered as an <see cref="IReadinessCheck"/> must be
/// ready; the first that is not (in the order they were registered: the policy feature's initial sync and
/// datapath programming, then the cluster sync's sources, then the other features) gives the reason. A source
/// that stopped is being restarted, and until it has synced again the policy may be computed from a stale
/// cluster. /readyz, patronus_agent_ready and `patronus status` all read this.
/// </summary>
public sealed class AgentReadiness
{
    private readonly IReadOnlyList<IReadinessCheck> _checks;

    public AgentReadiness(IEnumerable<IReadinessCheck> checks, AgentMetrics metrics)
    {
        _checks = checks.ToList();
        metrics.Registry.AddBeforeCollectCallback(() => metrics.Ready.Set(IsReady ? 1 : 0));
    }

    /// <summary>Null when ready.</summary>
    public string? NotReadyReason => _checks.Select(c => c.NotReadyReason).FirstOrDefault(r => r is not null);

    public bool IsReady => NotReadyReason is null;
}
