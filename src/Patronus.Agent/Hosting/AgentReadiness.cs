using Patronus.Agent.Pipeline;
using Patronus.Agent.Routes;
using Patronus.Agent.Telemetry;
using Patronus.Kubernetes.Informers;

namespace Patronus.Agent.Hosting;

/// <summary>
/// Whether the agent is ready, and if not why: the initial sync and datapath programming must be done, and
/// every cluster source must be running and whole (one that stopped is being restarted, and until it has
/// synced again the policy may be computed from a stale cluster). /readyz, patronus_agent_ready and
/// `patronus status` all read this.
/// </summary>
public sealed class AgentReadiness
{
    private readonly PolicyPipeline _pipeline;
    private readonly SourceSupervisor _sources;

    private readonly RoutesFeature? _routes;

    public AgentReadiness(PolicyPipeline pipeline, SourceSupervisor sources, AgentMetrics metrics, RoutesFeature? routes = null)
    {
        _pipeline = pipeline;
        _sources = sources;
        _routes = routes;
        metrics.Registry.AddBeforeCollectCallback(() => metrics.Ready.Set(IsReady ? 1 : 0));
    }

    /// <summary>Null when ready.</summary>
    public string? NotReadyReason =>
        !_pipeline.IsReady ? "initial sync or datapath programming not done" : _sources.Problem ?? _routes?.NotReadyReason;

    public bool IsReady => NotReadyReason is null;
}
