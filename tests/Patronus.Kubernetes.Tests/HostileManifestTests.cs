using System.Text;
using System.Text.Json.Nodes;
using Patronus.Kubernetes.Manifests;

namespace Patronus.Kubernetes.Tests;

/// <summary>
/// Manifests written carelessly or to hurt: null list items, recursive and exponential aliases, absurd
/// depth and size, numbers that do not fit. Each is refused with its file, line and field; nothing throws,
/// nothing overflows the stack, and memory stays bounded.
/// </summary>
public class HostileManifestTests
{
    private static ManifestModel Load(string text, ManifestLimits? limits = null)
    {
        var set = new ManifestSet();
        ManifestLoader.LoadText(text, "test.yaml", set, limits);
        return ManifestModel.From(set);
    }

    private const string PodHead = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop, labels: {app: web}}
        """;

    private const string PolicyHead = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: p, namespace: shop}
        """;

    [Theory]
    [InlineData(PodHead + "\nspec: {containers: [{name: c, ports: [~]}]}", "spec.containers[0].ports[0]")]
    [InlineData(PodHead + "\nspec: {containers: [~]}", "spec.containers[0]")]
    [InlineData(PodHead + "\nstatus: {podIPs: [~]}", "status.podIPs[0]")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: ~}}", "metadata.labels.app")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, ingress: [~]}", "spec.ingress[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, egress: [~]}", "spec.egress[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, ingress: [{from: [~]}]}", "spec.ingress[0].from[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, egress: [{to: [~]}]}", "spec.egress[0].to[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, ingress: [{ports: [~]}]}", "spec.ingress[0].ports[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, policyTypes: [~]}", "spec.policyTypes[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {matchExpressions: [~]}}", "spec.podSelector.matchExpressions[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {matchExpressions: [{key: a, operator: In, values: [~]}]}}", "spec.podSelector.matchExpressions[0].values[0]")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {matchLabels: {app: ~}}}", "spec.podSelector.matchLabels.app")]
    [InlineData(PolicyHead + "\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [~]}}]}]}", "spec.ingress[0].from[0].ipBlock.except[0]")]
    [InlineData("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: ~}}", "metadata.labels.team")]
    public void NullItem_IsRefusedNamingFileLineAndField(string yaml, string field)
    {
        var model = Load("apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n" + yaml);

        var error = Assert.Single(model.Errors);
        Assert.Equal("test.yaml:5", error.Source);
        Assert.Equal(field, error.Field);
        Assert.Contains($"test.yaml:5: ", error.ToString());
        Assert.Single(model.Namespaces, n => n.Name == "other");
    }

    /// <summary>Every list of a rich Pod and NetworkPolicy, one at a time, gets a null item: never an exception.</summary>
    [Fact]
    public void NullItem_InEveryListOfTheMappedKinds_IsRefusedWithoutThrowing()
    {
        const string pod = """
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
             "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]},
             "status": {"podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]}}
            """;
        const string policy = """
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "shop"},
             "spec": {"podSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]},
                      "policyTypes": ["Ingress", "Egress"],
                      "ingress": [{"from": [{"podSelector": {"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["b"]}]}},
                                            {"namespaceSelector": {"matchLabels": {"team": "a"}}},
                                            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                                   "ports": [{"port": 80}, {"port": "http", "protocol": "UDP"}]}],
                      "egress": [{"to": [{"ipBlock": {"cidr": "fd00::/8", "except": ["fd01::/16"]}}], "ports": [{"port": 53, "endPort": 60}]}]}}
            """;
        var variants = 0;
        foreach (var document in new[] { pod, policy })
        {
            Assert.Empty(Load(document).Errors);
            var arrays = Arrays(JsonNode.Parse(document)!, "").ToList();
            foreach (var path in arrays)
            {
                var mutated = JsonNode.Parse(document)!;
                ((JsonArray)Find(mutated, path)).Add(null);
                var model = Load(mutated.ToJsonString());
                Assert.True(model.Errors.Count > 0, $"a null item in {path} was accepted");
                Assert.All(model.Errors, e => Assert.Equal("test.yaml:1", e.Source));
                variants++;
            }
        }
        Assert.True(variants >= 14, $"only {variants} lists were tried");

        static IEnumerable<string> Arrays(JsonNode node, string path)
        {
            if (node is JsonArray array)
            {
                yield return path;
                for (var i = 0; i < array.Count; i++)
                    foreach (var inner in Arrays(array[i]!, $"{path}/{i}"))
                        yield return inner;
            }
            else if (node is JsonObject obj)
            {
                foreach (var (key, value) in obj)
                    if (value is not null)
                        foreach (var inner in Arrays(value, $"{path}/{key}"))
                            yield return inner;
            }
        }

        static JsonNode Find(JsonNode root, string path)
        {
            var node = root;
            foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
                node = node is JsonArray array ? array[int.Parse(part)]! : node[part]!;
            return node;
        }
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("Upper")]
    [InlineData("-dash")]
    public void InvalidObjectName_IsRefusedNamingTheField(string name)
    {
        var model = Load(PolicyHead.Replace("name: p,", $"name: \"{name}\",") + "\nspec: {podSelector: {}}");

        var error = Assert.Single(model.Errors);
        Assert.Equal("metadata.name", error.Field);
        Assert.Empty(model.Policies);
    }

    [Fact]
    public void RecursiveAlias_IsRefused()
    {
        var model = Load("apiVersion: v1\nkind: Pod\nmetadata: &a {name: m, x: *a}\n");

        var error = Assert.Single(model.Errors);
        Assert.StartsWith("test.yaml:", error.Source);
        Assert.Contains("alias", error.Message);
        Assert.Empty(model.Pods);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TwentyThousandDeepNesting_IsRefused(bool flow)
    {
        var deep = flow
            ? "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec: {x: " + new string('[', 20_000) + new string(']', 20_000) + "}\n"
            : "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nx:\n" + string.Concat(Enumerable.Repeat("- ", 20_000)) + "a\n";

        var model = Load(deep);

        var error = Assert.Single(model.Errors);
        Assert.Contains("nested deeper than", error.Message);
        Assert.Empty(model.Pods);
    }

    [Fact]
    public void DeepJson_IsRefused()
    {
        var model = Load("{\"kind\": \"Pod\", \"x\": " + new string('[', 20_000) + new string(']', 20_000) + "}");

        Assert.Contains("not valid JSON", Assert.Single(model.Errors).Message);
    }

    [Fact]
    public void BillionLaughs_IsRefusedWithoutGrowingMemory()
    {
        var bomb = new StringBuilder("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\n");
        bomb.Append("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
            bomb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        var before = GC.GetAllocatedBytesForCurrentThread();

        var model = Load(bomb.ToString());

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var error = Assert.Single(model.Errors);
        Assert.Contains("aliases expand to more than", error.Message);
        Assert.True(allocated < 200_000_000, $"refusing the bomb allocated {allocated:N0} bytes");
    }

    [Fact]
    public void ModestAliases_AreExpanded()
    {
        var model = Load(PodHead + "\nspec: {containers: [{name: a, ports: &p [{containerPort: 80}]}, {name: b, ports: *p}]}");

        Assert.Empty(model.Errors);
        Assert.Equal(2, Assert.Single(model.Pods).Ports.Count);
    }

    [Fact]
    public void OversizedDocument_IsRefusedNamingTheLimit()
    {
        var text = PodHead + "\nx: \"" + new string('a', 2_000) + "\"\n";

        var model = Load(text, ManifestLimits.Default with { MaxBytes = 1_000 });

        var error = Assert.Single(model.Errors);
        Assert.Contains("larger than 1000 bytes", error.Message);
        Assert.Empty(model.Pods);
    }

    [Fact]
    public void OversizedFile_IsRefusedWithoutReadingIt()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("pagt-big-").FullName, "big.yaml");
        try
        {
            using (var file = File.Create(path))
                file.SetLength(64L << 20);
            var set = new ManifestSet();
            var before = GC.GetAllocatedBytesForCurrentThread();

            ManifestLoader.LoadFile(path, set, ManifestLimits.Default with { MaxBytes = 1 << 20 });

            Assert.Contains("larger than 1048576 bytes", Assert.Single(set.Errors).Message);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void NumberTooLargeForADouble_InAnAnnotation_StaysText()
    {
        var model = Load("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, annotations: {huge: 1e999}}\n");

        Assert.Empty(model.Errors);
        Assert.Single(model.Pods);
    }

    [Fact]
    public void NumberTooLargeForADouble_InAContainerPort_IsRefusedNamingTheField()
    {
        var model = Load(PodHead + "\nspec: {containers: [{name: c, ports: [{containerPort: 1e999}]}]}");

        var error = Assert.Single(model.Errors);
        Assert.Contains("containerPort", error.Field);
        Assert.Empty(model.Pods);
    }

    [Fact]
    public void Fifo_IsRefusedWithoutBlocking()
    {
        var directory = Directory.CreateTempSubdirectory("pagt-fifo-").FullName;
        try
        {
            var fifo = Path.Combine(directory, "x.yaml");
            Assert.Equal(0, Patronus.Testing.Command.Run("mkfifo", [fifo]).ExitCode);
            var set = new ManifestSet();

            var load = Task.Run(() => ManifestLoader.LoadFile(fifo, set));

            Assert.True(load.Wait(TimeSpan.FromSeconds(20)), "reading a FIFO blocked");
            Assert.Contains("not a regular file", Assert.Single(set.Errors).Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
