using Prometheus;

namespace Patronus.Agent.Datapath;

/// <summary>
/// Exports the datapath's kernel drop counters as patronus_policy_blocks_total{namespace,policy}. The kernel
/// counters are read at scrape time, so the metric is exactly what the kernel counted; directions are summed.
/// </summary>
public sealed class PolicyBlocksMetric
{
    private readonly IPolicyDatapath _datapath;
    private readonly Counter _blocks;

    public PolicyBlocksMetric(IPolicyDatapath datapath, CollectorRegistry registry)
    {
        _datapath = datapath;
        _blocks = Metrics.WithCustomRegistry(registry).CreateCounter(
            "patronus_policy_blocks_total",
            "Packets dropped by NetworkPolicy, counted in the kernel. policy is \"\" when several policies isolate the pod.",
            new CounterConfiguration { LabelNames = ["namespace", "policy"] });
        registry.AddBeforeCollectCallback(Refresh);
    }

    /// <summary>Copies the kernel counters into the metric (also called before every scrape).</summary>
    public void Refresh()
    {
        var totals = _datapath.ReadDropCounters()
            .GroupBy(c => (c.Namespace, c.Policy))
            .Select(g => (g.Key, Packets: g.Aggregate(0UL, (sum, c) => sum + c.Packets)));
        // IncTo never moves a counter back: should a kernel counter ever restart lower, the metric holds still
        // rather than reporting a reset for a series that is still the same policy.
        foreach (var (key, packets) in totals)
            _blocks.WithLabels(key.Namespace, key.Policy).IncTo(packets);
    }
}
