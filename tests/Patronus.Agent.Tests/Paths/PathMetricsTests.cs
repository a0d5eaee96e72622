using System.Text;
using Patronus.Agent.Paths;
using Prometheus;

namespace Patronus.Agent.Tests.Paths;

public sealed class PathMetricsTests
{
    private static async Task<string> Export(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task PathStatus_ExportedUnderTheSeedsNamesAndLabels()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new PathMetrics(registry);
        var quality = new PathQuality(10.5, 1.25, 0.02, 100);
        metrics.Record("aws", "gcp", "fast", new PathStatus(PathState.Degraded, TimeSpan.Zero, quality, PathScore.Of(quality), null));
        metrics.CountFailover("aws", "gcp", "fast", "latency-sensitive");
        metrics.RecordPodLatency("aws", "gcp", "latency-sensitive", 42);

        var text = await Export(registry);
        Assert.Matches(@"patronus_path_score\{src=""aws"",dst=""gcp"",path_id=""fast""\} 9\d\.\d+", text);
        Assert.Contains("patronus_path_latency_ms{src=\"aws\",dst=\"gcp\",path_id=\"fast\"} 10.5", text);
        Assert.Contains("patronus_path_jitter_ms{src=\"aws\",dst=\"gcp\",path_id=\"fast\"} 1.25", text);
        Assert.Contains("patronus_path_loss_ratio{src=\"aws\",dst=\"gcp\",path_id=\"fast\"} 0.02", text);
        Assert.Contains("patronus_path_state{src=\"aws\",dst=\"gcp\",path_id=\"fast\"} 1", text);
        Assert.Contains("patronus_path_failovers_total{src=\"aws\",dst=\"gcp\",path_id=\"fast\",qos_class=\"latency-sensitive\"} 1", text);
        Assert.Contains("patronus_pod_latency_ms{src_cluster=\"aws\",dst_cluster=\"gcp\",qos_class=\"latency-sensitive\"} 42", text);
    }

    [Fact]
    public async Task Refusals_PublishedAsTheSumOfTheirSources_BySnakeCaseReason()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new PathMetrics(registry);
        var (prober, responder) = (new ProbeRefusals(), new ProbeRefusals());
        prober.Count(ProbeRefusal.TimestampMismatch);
        responder.Count(ProbeRefusal.BadMagic);
        responder.Count(ProbeRefusal.BadMagic);
        metrics.RecordRefusals(prober, responder);
        responder.Count(ProbeRefusal.BadMagic);
        metrics.RecordRefusals(prober, responder);

        var text = await Export(registry);
        Assert.Contains("patronus_path_probes_refused_total{reason=\"bad_magic\"} 3", text);
        Assert.Contains("patronus_path_probes_refused_total{reason=\"timestamp_mismatch\"} 1", text);
        Assert.Contains("patronus_path_probes_refused_total{reason=\"wrong_length\"} 0", text);
    }
}
