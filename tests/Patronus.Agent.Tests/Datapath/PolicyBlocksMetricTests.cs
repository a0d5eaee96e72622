using System.Text;
using Patronus.Agent.Datapath;
using Patronus.Policy.Compiled;
using Prometheus;

namespace Patronus.Agent.Tests.Datapath;

public sealed class PolicyBlocksMetricTests
{
    private sealed class FakeDatapath : IPolicyDatapath
    {
        public List<PolicyDropCounter> Counters { get; } = new();
        public void Reconcile(IReadOnlyCollection<EndpointPolicy> all) { }
        public void Update(IReadOnlyCollection<EndpointPolicy> changed, IReadOnlyCollection<EndpointId> removed) { }
        public IReadOnlyList<PolicyDropCounter> ReadDropCounters() => Counters;
    }

    [Fact]
    public async Task Scrape_SumsDirectionsPerNamespaceAndPolicy()
    {
        var datapath = new FakeDatapath();
        datapath.Counters.Add(new("team", "deny-all", "ingress", 5, 300));
        datapath.Counters.Add(new("team", "deny-all", "egress", 2, 100));
        datapath.Counters.Add(new("team", "", "ingress", 1, 60));
        var registry = Metrics.NewCustomRegistry();
        _ = new PolicyBlocksMetric(datapath, registry);

        var text = await Scrape(registry);

        Assert.Contains("patronus_policy_blocks_total{namespace=\"team\",policy=\"deny-all\"} 7", text);
        Assert.Contains("patronus_policy_blocks_total{namespace=\"team\",policy=\"\"} 1", text);

        datapath.Counters[0] = new("team", "deny-all", "ingress", 9, 500);
        Assert.Contains("patronus_policy_blocks_total{namespace=\"team\",policy=\"deny-all\"} 11", await Scrape(registry));
    }

    private static async Task<string> Scrape(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
