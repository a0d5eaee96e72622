using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Patronus.Cli.Install;
using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Install;

/// <summary>`patronus install --dry-run`: deploy/ with a cluster's own values, ready for kubectl apply -f -.</summary>
public sealed class InstallCommandTests
{
    // 32 bytes, base64: the shape of an Ed25519 public key.
    private const string SetKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private static List<object> Objects(string yaml) => KubernetesYaml.LoadAllFromString(yaml).ToList();

    [Fact]
    public void DryRun_PrintsEveryObjectOfDeploy_WithTheClustersValues()
    {
        var remote = Path.GetTempFileName();
        File.WriteAllText(remote, """[{"id": "cluster-b", "endpoint": "198.51.100.7:51820", "cidr": "10.60.0.0/16,10.61.0.0/16"}]""");
        try
        {
            var (code, output, error) = Repository.Run(Repository.Artifact("patronus"),
                ["install", "--dry-run", "--cluster-id", "cluster-a", "--cluster-cidr", "10.50.0.0/16,fd00:50::/48", "--service-cidr", "10.51.0.0/16",
                 "--remote-clusters", remote, "--cluster-set-key", SetKey, "--image", "registry.example/patronus:1.2"], TimeSpan.FromMinutes(1));
            Assert.True(code == 0, error);
            var objects = Objects(output);

            // Every object deploy/ holds, once each, in kubectl's order of the files.
            var expected = Directory.GetFiles(Repository.Path("deploy"), "*.yaml").Order(StringComparer.Ordinal)
                .SelectMany(f => KubernetesYaml.LoadAllFromFileAsync(f).GetAwaiter().GetResult())
                .Select(Name).ToList();
            Assert.Equal(expected, objects.Select(Name).ToList());

            var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "patronus-config");
            Assert.Equal("cluster-a", config.Data["cluster-id"]);
            Assert.Equal("10.50.0.0/16,fd00:50::/48", config.Data["cluster-cidr"]);
            Assert.Equal("10.51.0.0/16", config.Data["service-cidr"]);
            Assert.Equal("cluster-b", (string)JsonNode.Parse(config.Data["remote-clusters"])![0]!["id"]!);
            Assert.Equal("10.60.0.0/16,10.61.0.0/16", (string)JsonNode.Parse(config.Data["remote-clusters"])![0]!["cidr"]!);
            Assert.Equal(SetKey, config.Data["cluster-set-key"]);
            var cni = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "patronus-cni-config");
            Assert.Equal("cluster-a", (string)JsonNode.Parse(cni.Data["10-patronus.conflist"])!["plugins"]![0]!["sdwan"]!["cluster_id"]!);
            var pods = objects.OfType<V1DaemonSet>().Select(d => d.Spec.Template.Spec).ToList();
            Assert.Equal(2, pods.Count);
            Assert.All(pods.SelectMany(p => p.Containers.Concat(p.InitContainers ?? [])), c => Assert.Equal("registry.example/patronus:1.2", c.Image));
            // Nothing else changes: the agent's settings are deploy/'s.
            var original = KubernetesYaml.LoadAllFromFileAsync(Repository.Path("deploy/configmap.yaml")).GetAwaiter().GetResult().OfType<V1ConfigMap>().First();
            Assert.Equal(original.Data["agent.json"], cni.Data["agent.json"]);
        }
        finally
        {
            File.Delete(remote);
        }
    }

    [Fact]
    public void Defaults_AreDeploysOwn()
    {
        var objects = Objects(InstallManifests.Render(new InstallValues()));
        var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "patronus-config");
        var original = KubernetesYaml.LoadAllFromFileAsync(Repository.Path("deploy/configmap.yaml")).GetAwaiter().GetResult().OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "patronus-config");
        foreach (var key in new[] { "cluster-id", "cluster-cidr", "service-cidr" })
            Assert.Equal(original.Data[key], config.Data[key]);
        Assert.All(objects.OfType<V1DaemonSet>().SelectMany(d => d.Spec.Template.Spec.Containers), c => Assert.Equal(InstallValues.DefaultImage, c.Image));
        Assert.False(config.Data.ContainsKey("cluster-set-key"), "no mesh unless a cluster-set key is given");
    }

    [Theory]
    [InlineData("--cluster-id", "Cluster_A", "--cluster-id")]
    [InlineData("--cluster-cidr", "10.50.0.1/16", "--cluster-cidr")]
    [InlineData("--cluster-cidr", "10.50.0.0/16,10.52.0.0/16", "--cluster-cidr")]
    [InlineData("--service-cidr", "nonsense", "--service-cidr")]
    [InlineData("--remote-clusters", "{\"id\": 1}", "--remote-clusters")]
    [InlineData("--remote-clusters", "[", "--remote-clusters")]
    [InlineData("--remote-clusters", "[{\"id\": \"b\", \"cidr\": \"10.60.0.0/16\"}]", "--remote-clusters: entry 0 has no 'endpoint'")]
    [InlineData("--remote-clusters", "[{\"id\": \"b\", \"endpoint\": \"198.51.100.7\", \"cidr\": \"10.60.0.0/16\"}]", "--remote-clusters: entry 0: endpoint")]
    [InlineData("--remote-clusters", "[{\"id\": \"b\", \"endpoint\": \"198.51.100.7:51820\", \"cidr\": \"10.60.0.1/16\"}]", "--remote-clusters: entry 0: cidr")]
    [InlineData("--cluster-set-key", "bm90IGEga2V5", "--cluster-set-key")]
    public void BadValue_ExitsOne_NamingTheOption_PrintingNothing(string option, string value, string named)
    {
        var remote = Path.GetTempFileName();
        try
        {
            string[] arguments = option == "--remote-clusters"
                ? ["install", "--dry-run", "--remote-clusters", remote]
                : ["install", "--dry-run", option, value];
            File.WriteAllText(remote, option == "--remote-clusters" ? value : "[]");
            var (code, output, error) = Repository.Run(Repository.Artifact("patronus"), arguments, TimeSpan.FromMinutes(1));
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Contains(named, error);
            Assert.DoesNotContain("   at ", error);
        }
        finally
        {
            File.Delete(remote);
        }
    }

    [Fact]
    public void WithoutDryRun_ExitsOne_SayingHowToApply()
    {
        var (code, output, error) = Repository.Run(Repository.Artifact("patronus"), ["install"], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("kubectl apply -f -", error);
    }

    private static string Name(object item) => $"{((IKubernetesObject)item).Kind}/{((IMetadata<V1ObjectMeta>)item).Metadata.Name}";
}
