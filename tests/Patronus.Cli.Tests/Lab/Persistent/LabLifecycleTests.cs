using System.Diagnostics;
using System.Text.Json.Nodes;
using Patronus.Cli.Lab;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// Labs made and removed whole: two at once, `lab down` after kill -9 of the agents and of `lab up` itself in the
/// middle of a build, and lab files that must make nothing at all. After each `lab down`, nothing of the lab may be
/// left: no namespace with its name, no process of it, no state.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LabLifecycleTests : IDisposable
{
    private readonly LabCli _cli = new();
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-labtest-").FullName;

    private string LabFile(string yaml, string? manifests = null)
    {
        var file = Path.Combine(_files, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        if (manifests is not null)
            File.WriteAllText(Path.Combine(_files, "apps.yaml"), manifests);
        return file;
    }

    private const string TwoPods = """
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: a}}, spec: {containers: [{name: a, image: busybox}]}}
        - {apiVersion: v1, kind: Pod, metadata: {name: b, labels: {app: b}}, spec: {containers: [{name: b, image: busybox}]}}
        """;

    [Fact]
    public void TwoLabsAtOnce_AreSeparate_AndDownAfterKillingTheAgentsLeavesNothing()
    {
        var file = LabFile("clusters:\n- id: c\n  nodes: [{name: n1}, {name: n2}]\n  manifests: [apps.yaml]\n", TwoPods);
        var first = LabCli.NewName();
        var second = LabCli.NewName();

        // Both built at the same time, from the same file: nothing but the name tells them apart.
        using (var a = _cli.Start("up", "-f", file, "--name", first))
        using (var b = _cli.Start("up", "-f", file, "--name", second))
        {
            foreach (var (process, name) in new[] { (a, first), (b, second) })
            {
                var error = process.StandardError.ReadToEndAsync();
                Assert.True(process.WaitForExit(LabCli.Slow), $"lab up {name} did not finish");
                Assert.True(process.ExitCode == 0, $"lab up {name} failed: {error.Result}");
            }
        }
        var firstStatus = _cli.Status(first);
        var secondStatus = _cli.Status(second);
        var firstNamespaces = LabCli.Namespaces(first);
        Assert.Equal(2 + 3 + 2, firstNamespaces.Count); // nodes, fabric + router + internet, pods
        Assert.Equal(firstNamespaces.Count, LabCli.Namespaces(second).Count);
        Assert.Empty(firstNamespaces.Intersect(LabCli.Namespaces(second)));
        // The same addresses in both, each in its own namespaces: a pod of each lab reaches its own neighbour.
        Assert.Equal(Ips(firstStatus, "b"), Ips(secondStatus, "b"));
        foreach (var lab in new[] { first, second })
            Assert.Equal(0, _cli.Run("exec", "--name", lab, "a", "--", "ping", "-c", "1", "-W", "3", Ips(firstStatus, "b")[0]).Code);

        // kill -9 of the first lab's agents: down still finds and removes everything, and the second lab is untouched.
        var agents = LabCli.ProcessesMentioning(_cli.LabDirectory(first) + "/");
        Assert.Equal(2, agents.Count);
        foreach (var pid in agents)
            Process.GetProcessById(pid).Kill();
        _cli.Must("down", "--name", first);
        _cli.AssertGone(first);
        Assert.Equal(secondStatus.ToJsonString(), _cli.Status(second).ToJsonString());
        Assert.Equal(0, _cli.Run("exec", "--name", second, "a", "--", "ping", "-c", "1", "-W", "3", Ips(secondStatus, "b")[0]).Code);

        _cli.Must("down", "--name", second);
        _cli.AssertGone(second);
        // Down again is no error: there is nothing left to remove.
        Assert.Equal(0, _cli.Run("down", "--name", second).Code);
    }

    [Fact]
    public void Down_AfterLabUpIsKilledMidBuild_LeavesNothing()
    {
        var file = LabFile("clusters:\n- id: c\n  nodes: [{name: n1, subnet: s1}, {name: n2, subnet: s2}]\n  manifests: [apps.yaml]\n", TwoPods);
        var name = LabCli.NewName();
        var directory = _cli.LabDirectory(name);

        string progress;
        using (var up = _cli.Start("up", "-f", file, "--name", name))
        {
            // Killed once its agents are started, before it has wired the pods and finished.
            var deadline = DateTime.UtcNow + LabCli.Slow;
            while (LabCli.ProcessesMentioning(directory + "/").Count < 2)
            {
                if (up.HasExited)
                    Assert.Fail($"lab up ended before it could be killed: {up.StandardError.ReadToEnd()}");
                Assert.True(DateTime.UtcNow < deadline, "lab up started no agents");
                Thread.Sleep(20);
            }
            up.Kill();
            up.WaitForExit();
            progress = up.StandardError.ReadToEnd();
        }
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "state.json")))!;
        Assert.True((string?)state["phase"] == "building", $"the lab was {state["phase"]} when lab up was killed; its output: {progress}");
        Assert.NotEmpty(LabCli.Namespaces(name));
        Assert.Equal(2, LabCli.ProcessesMentioning(directory + "/").Count);
        Assert.NotEqual(0, _cli.Run("status", "--name", name).Code);

        _cli.Must("down", "--name", name);
        _cli.AssertGone(name);
    }

    [Fact]
    public void Down_WithoutAnyStateRecord_StillFindsTheLabsNamespacesByName()
    {
        var file = LabFile("clusters:\n- id: c\n  nodes: [{name: n1}]\n");
        var name = LabCli.NewName();
        _cli.Must("up", "-f", file, "--name", name);
        var agents = LabCli.ProcessesMentioning(_cli.LabDirectory(name) + "/");
        Assert.Single(agents);

        // As if the state directory were lost (a crash before the first record was written, or a wiped /var/run).
        File.Delete(Path.Combine(_cli.LabDirectory(name), "state.json"));
        _cli.Must("down", "--name", name);

        Assert.Empty(LabCli.Namespaces(name));
        Assert.False(Directory.Exists(_cli.LabDirectory(name)));
        // The agent lived in the node's namespace: found there and stopped although no record named it.
        Assert.Empty(LabCli.ProcessesMentioning(_cli.LabDirectory(name) + "/"));
    }

    [Fact]
    public void ALabOfTwoClusters_ListsEach_AndCommandsChooseOneWithCluster()
    {
        var file = LabFile("""
            clusters:
            - {id: east, podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/16, nodes: [{name: n1, gateway: true}], manifests: [apps.yaml]}
            - {id: west, podCIDR: 10.248.0.0/16, serviceCIDR: 10.100.0.0/16, nodes: [{name: n1}, {name: n2}]}
            """, TwoPods);
        var name = LabCli.NewName();
        _cli.Must("up", "-f", file, "--name", name);

        var status = _cli.Status(name);
        Assert.Equal(["east", "west"], status["clusters"]!.AsArray().Select(c => (string?)c!["id"]));
        Assert.Equal($"{name}.west.n2", (string?)status["clusters"]![1]!["nodes"]![1]!["netns"]);
        Assert.StartsWith("10.248.", (string?)status["clusters"]![1]!["nodes"]![0]!["podCIDRs"]![0]);
        Assert.All(status["clusters"]![0]!["pods"]!.AsArray(), p => Assert.Equal("east", (string?)p!["cluster"]));
        Assert.Empty(status["clusters"]![1]!["pods"]!.AsArray());
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(_cli.LabDirectory(name), "east", "manifests", "node.n1.json")))!;
        Assert.Equal("true", (string?)node["metadata"]!["labels"]!["patronus.io/gateway"]);

        var pod = Path.Combine(_files, "west-pod.yaml");
        File.WriteAllText(pod, "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec: {nodeName: n2, containers: [{name: w, image: busybox}]}\n");
        var ambiguous = _cli.Run("apply", "--name", name, "-f", pod);
        Assert.Equal(3, ambiguous.Code);
        Assert.Contains("has clusters east, west: choose one with --cluster", ambiguous.Error);
        Assert.Contains("west: pod/default/w created on n2", _cli.Must("apply", "--name", name, "--cluster", "west", "-f", pod));
        var w = _cli.Status(name)["clusters"]![1]!["pods"]![0]!;
        Assert.Equal("west", (string?)w["cluster"]);
        Assert.StartsWith("10.248.1.", (string?)w["ips"]![0]);
        Assert.Equal(0, _cli.Run("exec", "--name", name, "--cluster", "west", "w", "--", "true").Code);
        // east's gateway runs wireguard-go, whose UAPI socket lives outside the lab's namespaces and directory.
        var uapi = $"/var/run/wireguard/{LabNames.MeshInterface(name, "east", "n1")}.sock";
        Assert.True(Poll.Until(() => File.Exists(uapi), TimeSpan.FromSeconds(30)), $"{uapi} never appeared");

        _cli.Must("down", "--name", name);
        _cli.AssertGone(name);
        Assert.False(File.Exists(uapi), $"{uapi} left behind");
    }

    [Theory]
    [InlineData("down")]
    [InlineData("status")]
    [InlineData("reach")]
    public void ANameThatIsNoLabName_IsRefused_BeforeAnythingIsTouched(string command)
    {
        // A name is a directory under the state root: "../x" would reach outside it.
        var outside = Directory.CreateDirectory(Path.Combine("/tmp", $"keep-{Guid.NewGuid():N}")).FullName;
        try
        {
            var (code, _, error) = _cli.Run(command, "--name", "../" + Path.GetFileName(outside));

            Assert.Equal(1, code);
            Assert.Contains("--name: \"../keep-", error);
            Assert.True(Directory.Exists(outside));
        }
        finally
        {
            Directory.Delete(outside);
        }
    }

    [Theory]
    [InlineData("clusters:\n- id: c\n  nodes: [{name: n1, subnet: S1}]\n", null, "clusters[0].nodes[0].subnet: \"S1\" is not a subnet name")]
    [InlineData("clusters:\n- id: c\n  podCIDR: 10.244.0.0/16\n  nodes: [{name: n1, podCIDRs: [10.1.0.0/24]}]\n", null, "clusters[0].nodes[0].podCIDRs[0]: 10.1.0.0/24 is not inside the cluster's pod range 10.244.0.0/16")]
    [InlineData("clusters:\n- id: c\n  nodes: [{name: n1}]\n  manifests: [apps.yaml]\n",
        "kind: Pod\napiVersion: v1\nmetadata: {name: a}\nspec: {nodeName: n1}\nstatus: {podIP: 10.1.2.3}\n",
        "cluster c: pod default/a: status.podIP 10.1.2.3 is not in the pod ranges of node n1")]
    [InlineData("clusters:\n- id: c\n  nodes: [{name: n1}]\n  manifests: [apps.yaml]\n",
        "kind: Pod\napiVersion: v1\nmetadata: {name: a}\nspec: {nodeName: n7}\n",
        "spec.nodeName \"n7\" is not a node of cluster c")]
    [InlineData("clusters:\n- id: c\n  nodes: [{name: n1}]\n  manifests: [apps.yaml]\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: [a]}\n",
        "apps.yaml:1")]
    [InlineData("clusters:\n- id: c\n  nodes: [{name: n1}]\n  manifests: [apps.yaml]\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ../../escape, namespace: x}\n",
        "Pod x/../../escape: metadata.name must be")]
    public void Up_WithABadLabFile_ExitsWithTheFieldInTheMessage_AndMakesNothing(string yaml, string? manifests, string expected)
    {
        var name = LabCli.NewName();
        var (code, output, error) = _cli.Run("up", "-f", LabFile(yaml, manifests), "--name", name);

        Assert.Equal(1, code);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", error);
        Assert.Equal("", output);
        _cli.AssertGone(name);
    }

    private static List<string> Ips(JsonNode status, string pod) =>
        status["clusters"]![0]!["pods"]!.AsArray().Single(p => (string?)p!["name"] == pod)!["ips"]!.AsArray().Select(ip => (string)ip!).ToList();

    public void Dispose()
    {
        _cli.Dispose();
        Directory.Delete(_files, recursive: true);
    }
}
