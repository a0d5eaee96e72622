using Prometheus;

namespace Patronus.Agent.Paths;

/// <summary>
/// The paths feature's Prometheus metrics, named as in the seed, defined in one place and registered in the
/// registry given (the agent's <see cref="Telemetry.AgentMetrics.Registry"/>), fed by <see cref="PathsFeature"/> after
/// every probe round. Latency and jitter are round-trip milliseconds.
/// </summary>
public sealed class PathMetrics
{
    public const string ScoreName = "patronus_path_score";
    public const string LatencyName = "patronus_path_latency_ms";
    public const string JitterName = "patronus_path_jitter_ms";
    public const string LossName = "patronus_path_loss_ratio";
    public const string StateName = "patronus_path_state";
    public const string FailoversName = "patronus_path_failovers_total";
    public const string ChangesName = "patronus_path_changes_total";
    public const string ProbesRefusedName = "patronus_path_probes_refused_total";
    public const string PodLatencyName = "patronus_pod_latency_ms";

    private static readonly string[] PathLabels = ["src", "dst", "path_id"];

    public PathMetrics(CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var factory = Metrics.WithCustomRegistry(registry);
        Score = factory.CreateGauge(ScoreName, "Path score from 0 to 100 (MOS-style, from latency, jitter and loss; see src/Patronus.Agent/Paths/README.md).",
            new GaugeConfiguration { LabelNames = PathLabels });
        Latency = factory.CreateGauge(LatencyName, "Smoothed round-trip time of the path's probes, in milliseconds.", new GaugeConfiguration { LabelNames = PathLabels });
        Jitter = factory.CreateGauge(JitterName, "Jitter of the path's probe round-trip times (RFC 3550 estimator), in milliseconds.", new GaugeConfiguration { LabelNames = PathLabels });
        Loss = factory.CreateGauge(LossName, "Share of the path's probes lost over the loss window, 0 to 1.", new GaugeConfiguration { LabelNames = PathLabels });
        State = factory.CreateGauge(StateName, "Path state: 0 Down, 1 Degraded, 2 Up.", new GaugeConfiguration { LabelNames = PathLabels });
        Failovers = factory.CreateCounter(FailoversName, "Times traffic of a QoS class left the path because it went down or broke the class's SLA.",
            new CounterConfiguration { LabelNames = [.. PathLabels, "qos_class"] });
        Changes = factory.CreateCounter(ChangesName, "Times a QoS class's traffic to a member moved to another path, for any reason (failover, return, better path): how much it flaps.",
            new CounterConfiguration { LabelNames = ["src", "dst", "qos_class"] });
        ProbesRefused = factory.CreateCounter(ProbesRefusedName, "Datagrams on the probe port refused, by reason.", new CounterConfiguration { LabelNames = ["reason"] });
        PodLatency = factory.CreateGauge(PodLatencyName, "Round-trip latency of the path a QoS class's pod traffic uses now, in milliseconds.",
            new GaugeConfiguration { LabelNames = ["src_cluster", "dst_cluster", "qos_class"] });
    }

    public Gauge Score { get; }

    public Gauge Latency { get; }

    public Gauge Jitter { get; }

    public Gauge Loss { get; }

    public Gauge State { get; }

    public Counter Failovers { get; }

    public Counter Changes { get; }

    public Counter ProbesRefused { get; }

    public Gauge PodLatency { get; }

    /// <summary>Sets a path's gauges from its status. A path that never answered has no latency sample, and no latency series.</summary>
    public void Record(string sourceCluster, string destinationCluster, string pathId, PathStatus status)
    {
        Score.WithLabels(sourceCluster, destinationCluster, pathId).Set(status.Score);
        if (status.Quality.LatencyMs is { } latency)
            Latency.WithLabels(sourceCluster, destinationCluster, pathId).Set(latency);
        Jitter.WithLabels(sourceCluster, destinationCluster, pathId).Set(status.Quality.JitterMs);
        Loss.WithLabels(sourceCluster, destinationCluster, pathId).Set(status.Quality.LossRatio);
        State.WithLabels(sourceCluster, destinationCluster, pathId).Set((int)status.State);
    }

    /// <summary>Counts a failover of <paramref name="qosClass"/>'s traffic away from <paramref name="fromPathId"/>.</summary>
    public void CountFailover(string sourceCluster, string destinationCluster, string fromPathId, string qosClass) =>
        Failovers.WithLabels(sourceCluster, destinationCluster, fromPathId, qosClass).Inc();

    /// <summary>Sets the latency a QoS class sees: that of the path it uses now.</summary>
    public void RecordPodLatency(string sourceCluster, string destinationCluster, string qosClass, double latencyMs) =>
        PodLatency.WithLabels(sourceCluster, destinationCluster, qosClass).Set(latencyMs);

    /// <summary>
    /// Publishes the refusal counts of the node's prober and responder (they count on their own): pass all of them
    /// on every call, since the counter is set to their sum.
    /// </summary>
    public void RecordRefusals(params ProbeRefusals[] sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        foreach (var reason in Enum.GetValues<ProbeRefusal>())
        {
            var counter = ProbesRefused.WithLabels(ReasonLabel(reason));
            var delta = sources.Sum(s => s[reason]) - counter.Value;
            if (delta > 0)
                counter.Inc(delta);
        }
    }

    /// <summary>snake_case of the reason, as Prometheus label values usually are.</summary>
    public static string ReasonLabel(ProbeRefusal reason) => string.Concat(reason.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
