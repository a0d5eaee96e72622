using System.Text.Json.Nodes;
using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Lab;

/// <summary>
/// What the policy engine computes is what the kernel enforces: for every case of the NetworkPolicy corpus,
/// `patronus lab reach` (real pods, the real plugin and agent, packets over TCP and UDP) prints the same matrix
/// as `patronus policy reach`, through either datapath: nftables and eBPF.
/// </summary>
[Collection(LabCollection.Name)]
public class LabAgreesWithPolicyTests
{
    private static readonly string[] Ports = ["--port", "80/TCP", "--port", "81/TCP", "--port", "80/UDP", "--port", "81/UDP"];

    public static TheoryData<string, string> Corpus()
    {
        var data = new TheoryData<string, string>();
        foreach (var datapath in new[] { "nftables", "ebpf" })
            foreach (var file in Directory.GetFiles(Repository.Path("tests/corpus/netpol"), "*.yaml").Order(StringComparer.Ordinal))
                data.Add(datapath, System.IO.Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void LabReach_MeasuresWhatPolicyReachComputes(string datapath, string corpusFile) =>
        Agree("examples/policy/upstream-cluster.yaml", datapath, corpusFile);

    /// <summary>The same with x, y and z on three nodes: pod traffic routed between node namespaces, egress enforced on one node and ingress on another.</summary>
    [Theory]
    [MemberData(nameof(Corpus))]
    public void LabReach_OnThreeNodes_MeasuresWhatPolicyReachComputes(string datapath, string corpusFile) =>
        Agree("examples/policy/upstream-cluster-three-nodes.yaml", datapath, corpusFile);

    private static void Agree(string cluster, string datapath, string corpusFile)
    {
        string[] files = ["-f", Repository.Path(cluster), "-f", Repository.Path($"tests/corpus/netpol/{corpusFile}")];
        var patronus = Repository.Artifact("patronus");

        var computed = Repository.Run(patronus, ["policy", "reach", .. files, .. Ports, "-o", "json"], TimeSpan.FromMinutes(1));
        var measured = Repository.Run(patronus, ["lab", "reach", .. files, .. Ports, "-o", "json", "--datapath", datapath], TimeSpan.FromMinutes(3));

        Assert.True(computed.Code == 0, $"policy reach failed ({computed.Code}): {computed.Error}");
        Assert.True(measured.Code == 0, $"lab reach failed ({measured.Code}): {measured.Error}");
        var expected = JsonNode.Parse(computed.Output)!;
        var actual = JsonNode.Parse(measured.Output)!;
        Assert.True(JsonNode.DeepEquals(expected, actual), Differences(expected, actual));
        Assert.Equal(4, actual["results"]!.AsArray().Count);
    }

    private static string Differences(JsonNode expected, JsonNode actual)
    {
        var lines = new List<string> { "lab reach and policy reach disagree (probe from -> to: computed / measured):" };
        var results = expected["results"]!.AsArray();
        for (var i = 0; i < results.Count; i++)
        {
            var probe = $"{results[i]!["port"]}/{results[i]!["protocol"]}";
            foreach (var (from, row) in results[i]!["matrix"]!.AsObject())
                foreach (var (to, cell) in row!.AsObject())
                {
                    var measured = actual["results"]?[i]?["matrix"]?[from]?[to];
                    if (measured is null || measured.GetValue<bool>() != cell!.GetValue<bool>())
                        lines.Add($"  {probe} {from} -> {to}: {cell} / {measured?.ToJsonString() ?? "missing"}");
                }
        }
        return string.Join('\n', lines);
    }
}

/// <summary>Lab runs build whole clusters; one at a time keeps the two cores of a CI machine from starving the probes' timeouts.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "lab";
}
