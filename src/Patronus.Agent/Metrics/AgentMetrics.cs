using Prometheus;

namespace Patronus.Agent.Metrics;

/// <summary>
/// The agent's Prometheus metrics, in a registry of its own (no process-wide defaults), exported in the
/// text format on /metrics.
/// </summary>
public sealed class AgentMetrics
{
    public AgentMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        PolicyBlocks = factory.CreateCounter("patronus_policy_blocks_total",
            "Packets dropped by NetworkPolicy, by the namespace of the isolated pod and the policy they are attributed to (empty when several isolate it).",
            new CounterConfiguration { LabelNames = ["namespace", "policy"] });
        SyncLag = factory.CreateGauge("patronus_agent_sync_lag_seconds",
            "Age of the oldest cluster or endpoint change not yet programmed into the datapath (0 when in step).");
        RuleUpdates = factory.CreateCounter("patronus_agent_rule_updates_total",
            "Datapath transactions applied (reconciles and incremental updates).");
        Errors = factory.CreateCounter("patronus_agent_errors_total",
            "Errors by component (datapath, mapping, endpoints, source).",
            new CounterConfiguration { LabelNames = ["component"] });
        Endpoints = factory.CreateGauge("patronus_endpoints", "Pod endpoints registered on this node.");
        Ready = factory.CreateGauge("patronus_agent_ready", "1 once the initial sync is done and the datapath programmed.");
        foreach (var component in new[] { "datapath", "mapping", "endpoints", "source" })
            Errors.WithLabels(component);
    }

    public CollectorRegistry Registry { get; }

    public Counter PolicyBlocks { get; }

    public Gauge SyncLag { get; }

    public Counter RuleUpdates { get; }

    public Counter Errors { get; }

    public Gauge Endpoints { get; }

    public Gauge Ready { get; }

    public async Task WriteAsync(Stream output, CancellationToken cancellationToken) =>
        await Registry.CollectAndExportAsTextAsync(output, cancellationToken).ConfigureAwait(false);
}
