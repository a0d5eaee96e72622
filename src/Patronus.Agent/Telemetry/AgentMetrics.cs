using Prometheus;

namespace Patronus.Agent.Telemetry;

/// <summary>
/// The agent's Prometheus metrics, in a registry of its own (no process-wide defaults), exported in the
/// text format on /metrics. patronus_policy_blocks_total is the datapath's <see cref="Datapath.PolicyBlocksMetric"/>.
/// </summary>
public sealed class AgentMetrics
{
    public AgentMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        SyncLag = factory.CreateGauge("patronus_agent_sync_lag_seconds",
            "Age of the oldest cluster or endpoint change not yet programmed into the datapath (0 when in step).");
        RuleUpdates = factory.CreateCounter("patronus_agent_rule_updates_total",
            "Datapath transactions applied (reconciles and incremental updates).");
        Errors = factory.CreateCounter("patronus_agent_errors_total",
            "Errors by component: datapath, mapping (an object refused), endpoints (a request failed), source (a cluster source stopped and was restarted), manifests (a manifest file refused), socket (accepting a connection failed), spool (applying a queued removal failed).",
            new CounterConfiguration { LabelNames = ["component"] });
        SocketRejected = factory.CreateCounter("patronus_agent_socket_rejected_total",
            "Requests and connections the endpoint socket refused, by reason: malformed (not a valid request), too_large, timeout (a request not whole in time), idle (no request in time), connection_limit.",
            new CounterConfiguration { LabelNames = ["reason"] });
        SocketConnections = factory.CreateGauge("patronus_agent_socket_connections", "Connections open on the endpoint socket.");
        foreach (var reason in SocketRejectReasons)
            SocketRejected.WithLabels(reason);
        Endpoints = factory.CreateGauge("patronus_endpoints", "Pod endpoints registered on this node.");
        Ready = factory.CreateGauge("patronus_agent_ready", "1 once the initial sync is done and the datapath programmed.");
        foreach (var component in new[] { "datapath", "mapping", "endpoints", "source", "manifests", "socket", "spool" })
            Errors.WithLabels(component);
    }

    public CollectorRegistry Registry { get; }

    public Gauge SyncLag { get; }

    public Counter RuleUpdates { get; }

    public Counter Errors { get; }

    public static readonly string[] SocketRejectReasons = ["malformed", "too_large", "timeout", "idle", "connection_limit"];

    public Counter SocketRejected { get; }

    public Gauge SocketConnections { get; }

    public Gauge Endpoints { get; }

    public Gauge Ready { get; }

    public async Task WriteAsync(Stream output, CancellationToken cancellationToken) =>
        await Registry.CollectAndExportAsTextAsync(output, cancellationToken).ConfigureAwait(false);
}
