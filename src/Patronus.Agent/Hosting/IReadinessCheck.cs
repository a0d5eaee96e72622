namespace Patronus.Agent.Hosting;

/// <summary>One part's say in the agent's readiness (<see cref="AgentReadiness"/>): the cluster sync, and each feature.</summary>
public interface IReadinessCheck
{
    /// <summary>Null when this part is ready; otherwise why not, in words for /readyz.</summary>
    string? NotReadyReason { get; }
}
