using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// The upstream e2e cluster (namespaces x, y, z with pods a, b, c) on three nodes whose routing is the agents':
/// x on node-1 and y on node-2 (subnet s1, direct routes), z on node-3 (subnet s2, VXLAN). Pods get their
/// addresses from IPAM in their node's range (10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, as the example's).
/// </summary>
public sealed partial class AgentRoutedCorpusLabFixture : IAsyncLifetime
{
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-corpuslab-").FullName;

    internal LabCli Cli { get; } = new();

    public string Name { get; } = LabCli.NewName();

    public string ManifestsDirectory => Path.Combine(Cli.LabDirectory(Name), "cluster-a", "manifests");

    public string Files => _files;

    public Task InitializeAsync()
    {
        // The example's pods without their status: the lab's IPAM gives them addresses (the example's .1 is the bridge's here).
        var cluster = StatusBlock().Replace(File.ReadAllText(Repository.Path("examples/policy/upstream-cluster-three-nodes.yaml")), "");
        File.WriteAllText(Path.Combine(_files, "cluster.yaml"), cluster);
        File.WriteAllText(Path.Combine(_files, "lab.yaml"), """
            clusters:
            - id: cluster-a
              podCIDR: 10.0.0.0/16
              nodes:
              - {name: node-1, subnet: s1, podCIDRs: [10.0.1.0/24]}
              - {name: node-2, subnet: s1, podCIDRs: [10.0.2.0/24]}
              - {name: node-3, subnet: s2, podCIDRs: [10.0.3.0/24]}
              manifests: [cluster.yaml]
            """);
        Cli.Must("up", "-f", Path.Combine(_files, "lab.yaml"), "--name", Name);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Cli.Dispose();
        Directory.Delete(_files, recursive: true);
        return Task.CompletedTask;
    }

    [GeneratedRegex(@"^  status:\n(?:    .*\n)*", RegexOptions.Multiline)]
    private static partial Regex StatusBlock();
}

/// <summary>
/// Every case of the NetworkPolicy corpus, applied to a running three-node lab whose routing between nodes is the
/// agents' (direct and VXLAN): `lab reach` measures what `policy reach` computes from the lab's cluster state. One
/// lab for every case: each is applied, measured and deleted again.
/// </summary>
[Collection(LabCollection.Name)]
public class CorpusOnAgentRoutedLabTests(AgentRoutedCorpusLabFixture lab) : IClassFixture<AgentRoutedCorpusLabFixture>
{
    private static readonly string[] Ports = ["--port", "80/TCP", "--port", "81/TCP", "--port", "80/UDP", "--port", "81/UDP"];

    public static TheoryData<string> Corpus() =>
        new(Directory.GetFiles(Repository.Path("tests/corpus/netpol"), "*.yaml").Order(StringComparer.Ordinal).Select(f => Path.GetFileName(f)));

    [Theory]
    [MemberData(nameof(Corpus))]
    public void LabReach_OnAgentRoutedNodes_MeasuresWhatPolicyReachComputes(string corpusFile)
    {
        var policies = Repository.Path($"tests/corpus/netpol/{corpusFile}");
        var empty = !File.ReadAllText(policies).Contains("kind: NetworkPolicy", StringComparison.Ordinal);
        if (!empty)
            lab.Cli.Must("apply", "--name", lab.Name, "-f", policies);
        try
        {
            var measured = lab.Cli.Run(["reach", "--name", lab.Name, .. Ports, "-o", "json"]);
            var computed = Repository.Run(Repository.Artifact("patronus"), ["policy", "reach", "-f", lab.ManifestsDirectory, .. Ports, "-o", "json"], TimeSpan.FromMinutes(1));

            Assert.True(measured.Code == 0, $"lab reach failed ({measured.Code}): {measured.Error}");
            Assert.True(computed.Code == 0, $"policy reach failed ({computed.Code}): {computed.Error}");
            var actual = JsonNode.Parse(measured.Output)!;
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(computed.Output), actual), $"computed:\n{computed.Output}\nmeasured:\n{measured.Output}");
            Assert.Equal(9, actual["results"]![0]!["matrix"]!.AsObject().Count);
        }
        finally
        {
            if (!empty)
                lab.Cli.Must("delete", "--name", lab.Name, "-f", policies);
        }
    }
}
