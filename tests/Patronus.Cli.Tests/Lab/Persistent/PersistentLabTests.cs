using System.Net;
using System.Text.Json.Nodes;
using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// A running lab (`lab up`), looked at and changed through the published CLI as a user would, and checked
/// independently with iproute2 and busybox in the namespaces `lab status` names.
/// </summary>
[Collection(LabCollection.Name)]
public partial class PersistentLabTests(RunningLabFixture lab) : IClassFixture<RunningLabFixture>
{
    private static string[] Keys(JsonNode? node) => node!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Status_Json_HasTheContractsShape_AndEveryNamespaceWorksWithIpNetnsExec()
    {
        var status = lab.Status;

        Assert.Equal(["clusters", "internet", "name", "wan"], Keys(status));
        Assert.Empty(status["wan"]!.AsArray());
        Assert.Equal(lab.Name, (string?)status["name"]);
        var cluster = Assert.Single(status["clusters"]!.AsArray())!;
        Assert.Equal(["gateways", "id", "nodes", "podCIDR", "podCIDRv6", "pods", "serviceCIDR"], Keys(cluster));
        Assert.Equal("cluster-a", (string?)cluster["id"]);
        Assert.Equal(["node-1", "node-2", "node-3"], cluster["nodes"]!.AsArray().Select(n => (string?)n!["name"]));
        foreach (var node in cluster["nodes"]!.AsArray())
            Assert.Equal(["address", "cluster", "datapath", "gateway", "metrics", "name", "netns", "podCIDRs", "socket", "wan"], Keys(node));
        Assert.Equal(["client", "pinned", "remote", "web"], cluster["pods"]!.AsArray().Select(p => (string?)p!["name"]));
        foreach (var pod in cluster["pods"]!.AsArray())
            Assert.Equal(["cluster", "ips", "name", "namespace", "netns", "node"], Keys(pod));
        Assert.Equal(["address", "netns"], Keys(status["internet"]));

        var namespaces = cluster["nodes"]!.AsArray().Concat(cluster["pods"]!.AsArray()).Select(n => (string)n!["netns"]!).Append((string)status["internet"]!["netns"]!);
        foreach (var netns in namespaces)
        {
            Assert.StartsWith(lab.Name + ".", netns);
            var result = LabCli.InNamespace(netns, "true");
            Assert.True(result.ExitCode == 0, $"ip netns exec {netns} true: {result.Stderr}");
        }
        Assert.All(cluster["nodes"]!.AsArray(), n => Assert.True(File.Exists((string)n!["socket"]!), $"no agent socket {n!["socket"]}"));
    }

    [Fact]
    public void Nodes_GetPodRangesAsTheControllerManagerWould_AndPodsTheirAddressesFromThem()
    {
        Assert.Equal(["10.244.0.0/24", "fd00:af4::/64"], lab.Node("node-1")["podCIDRs"]!.AsArray().Select(r => (string?)r));
        Assert.Equal(["10.244.9.0/24", "fd00:af4:0:2::/64"], lab.Node("node-3")["podCIDRs"]!.AsArray().Select(r => (string?)r));
        foreach (var pod in lab.Status["clusters"]![0]!["pods"]!.AsArray())
        {
            var ranges = lab.Node((string)pod!["node"]!)["podCIDRs"]!.AsArray().Select(r => IPNetwork.Parse((string)r!)).ToList();
            var ips = pod["ips"]!.AsArray().Select(ip => IPAddress.Parse((string)ip!)).ToList();
            Assert.Equal(2, ips.Count);
            Assert.All(ips, ip => Assert.Contains(ranges, r => r.Contains(ip)));
            // What the plugin put on the pod's eth0, seen independently.
            var addresses = LabCli.InNamespace((string)pod["netns"]!, "ip", "-o", "addr", "show", "eth0").Stdout;
            Assert.All(ips, ip => Assert.Contains($" {ip}/", addresses));
        }
        Assert.Equal("10.244.0.50", (string?)lab.Pod("pinned")["ips"]![0]);
    }

    [Fact]
    public void TheClusterState_HoldsNodesWithTheirRangesAndAddresses_AndPodsWithTheirStatus()
    {
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(lab.ManifestsDirectory, "node.node-3.json")))!;
        Assert.Equal("""["10.244.9.0/24","fd00:af4:0:2::/64"]""", node["spec"]!["podCIDRs"]!.ToJsonString());
        Assert.Equal((string?)lab.Node("node-3")["address"], (string?)node["status"]!["addresses"]![0]!["address"]);
        var pod = JsonNode.Parse(File.ReadAllText(Path.Combine(lab.ManifestsDirectory, "pod.shop.client.json")))!;
        Assert.Equal((string?)lab.Pod("client")["ips"]![0], (string?)pod["status"]!["podIP"]);
        Assert.Equal("node-2", (string?)pod["spec"]!["nodeName"]);
    }

    [Fact]
    public void Metrics_AreServedByEachAgent_OnItsNodesAddress()
    {
        foreach (var node in lab.Status["clusters"]![0]!["nodes"]!.AsArray())
        {
            var result = LabCli.InNamespace((string)node!["netns"]!, "busybox", "wget", "-q", "-O", "-", (string)node["metrics"]!);
            Assert.True(result.ExitCode == 0, $"{node["metrics"]}: {result.Stderr}");
            Assert.Contains("patronus_agent_ready 1", result.Stdout);
        }
    }

    [Fact]
    public void Agents_AreDaemonsInTheirNodesNamespace_WithTheirOwnSession_AndOutputInTheirLog()
    {
        foreach (var node in lab.Status["clusters"]![0]!["nodes"]!.AsArray())
        {
            var directory = Path.Combine(lab.Cli.LabDirectory(lab.Name), "cluster-a", (string)node!["name"]!);
            var pid = int.Parse(File.ReadAllText(Path.Combine(directory, "agent.pid")).Trim());
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var session = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3]);

            Assert.Equal(pid, session);
            Assert.Equal(Path.Combine(directory, "agent.log"), new FileInfo($"/proc/{pid}/fd/1").LinkTarget);
            Assert.Equal(Path.Combine(directory, "agent.log"), new FileInfo($"/proc/{pid}/fd/2").LinkTarget);
            Assert.Equal("/dev/null", new FileInfo($"/proc/{pid}/fd/0").LinkTarget);
            Assert.Equal((string)node["netns"]!, Patronus.Testing.Command.Run("ip", ["netns", "identify", pid.ToString()]).Stdout.Trim());
        }
    }

    [Fact]
    public void Exec_RunsInThePodsNamespace_AndPassesTheExitCodeThrough()
    {
        var (code, output, error) = lab.Cli.Run("exec", "--name", lab.Name, "shop/client", "--", "ip", "-o", "addr", "show", "eth0");
        Assert.True(code == 0, error);
        Assert.Contains($" {lab.Pod("client")["ips"]![0]}/", output);

        Assert.Equal(7, lab.Cli.Run("exec", "--name", lab.Name, "remote", "--", "sh", "-c", "exit 7").Code);
        var missing = lab.Cli.Run("exec", "--name", lab.Name, "shop/nobody", "--", "true");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("has no pod shop/nobody", missing.Error);
    }

    [Theory]
    [InlineData("client", 0)] // node-2: same subnet as node-1
    [InlineData("remote", 0)] // node-3: another subnet, over the agents' VXLAN overlay
    [InlineData("client", 1)]
    [InlineData("remote", 1)]
    public void PodsOnOtherNodes_AreReached_OverIPv4AndIPv6(string target, int family)
    {
        var address = (string)lab.Pod(target)["ips"]![family]!;
        var (code, output, error) = lab.Cli.Run("exec", "--name", lab.Name, "shop/web", "--", "ping", "-c", "1", "-W", "3", address);
        Assert.True(code == 0, $"web -> {target} {address}: {output} {error}");
    }

    [Fact]
    public void TheInternet_IsReachedFromEveryNodesUplink_AndIsNoClusterAddress()
    {
        var internet = (string)lab.Status["internet"]!["address"]!;
        Assert.DoesNotContain(lab.Status["clusters"]![0]!["nodes"]!.AsArray(), n => ((string)n!["address"]!) == internet);
        foreach (var node in lab.Status["clusters"]![0]!["nodes"]!.AsArray())
        {
            var result = LabCli.InNamespace((string)node!["netns"]!, "ping", "-c", "1", "-W", "3", internet);
            Assert.True(result.ExitCode == 0, $"{node["name"]} -> internet {internet}: {result.Stdout} {result.Stderr}");
        }
    }

    [Fact]
    public void Apply_ANewPodAndAPolicy_TheAgentsEnforceIt_AndDeleteUndoesIt()
    {
        var changes = Path.Combine(Path.GetDirectoryName(lab.LabFile)!, "changes.yaml");
        File.WriteAllText(changes, """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web-from-client, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: extra, namespace: shop, labels: {app: extra}}
            spec: {containers: [{name: extra, image: busybox}]}
            """);
        Assert.True(Reach()["shop/remote"]!["shop/web"]!.GetValue<bool>(), "remote -> web:80 is denied before any policy");

        var applied = lab.Cli.Must("apply", "--name", lab.Name, "-f", changes);
        Assert.Contains("networkpolicy/shop/web-from-client created", applied);
        Assert.Contains("pod/shop/extra created", applied);
        var extra = lab.Cli.Status(lab.Name)["clusters"]![0]!["pods"]!.AsArray().Single(p => (string?)p!["name"] == "extra")!;
        Assert.Equal(0, LabCli.InNamespace((string)extra["netns"]!, "true").ExitCode);
        var during = Reach();
        Assert.False(during["shop/remote"]!["shop/web"]!.GetValue<bool>(), "remote -> web:80 still allowed under the policy");
        Assert.False(during["shop/extra"]!["shop/web"]!.GetValue<bool>(), "extra -> web:80 allowed under the policy");
        Assert.True(during["shop/client"]!["shop/web"]!.GetValue<bool>(), "client -> web:80 denied under the policy that allows it");
        Assert.True(during["shop/web"]!["shop/extra"]!.GetValue<bool>(), "web -> extra:80 (no policy on extra) denied");

        var deleted = lab.Cli.Must("delete", "--name", lab.Name, "-f", changes);
        Assert.Contains("pod/shop/extra deleted", deleted);
        Assert.DoesNotContain((string)extra["netns"]!, LabCli.Namespaces(lab.Name));
        Assert.DoesNotContain(lab.Cli.Status(lab.Name)["clusters"]![0]!["pods"]!.AsArray(), p => (string?)p!["name"] == "extra");
        var after = Reach();
        Assert.True(after["shop/remote"]!["shop/web"]!.GetValue<bool>(), "remote -> web:80 still denied after the policy was deleted");
        Assert.Null(after["shop/extra"]);
    }

    [Fact]
    public void Reach_MeasuresWhatPolicyReachComputes_OnTheRunningClustersState()
    {
        string[] ports = ["--port", "80/TCP", "--port", "80/UDP"];
        var measured = lab.Cli.Run(["reach", "--name", lab.Name, .. ports, "-o", "json"]);
        var computed = Repository.Run(Repository.Artifact("patronus"), ["policy", "reach", "-f", lab.ManifestsDirectory, .. ports, "-o", "json"], TimeSpan.FromMinutes(1));

        Assert.True(measured.Code == 0, measured.Error);
        Assert.True(computed.Code == 0, computed.Error);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(computed.Output), JsonNode.Parse(measured.Output)), $"computed:\n{computed.Output}\nmeasured:\n{measured.Output}");
        Assert.Equal(4, JsonNode.Parse(measured.Output)!["results"]![0]!["matrix"]!.AsObject().Count);
    }

    [Fact]
    public void Up_WithTheNameOfARunningLab_IsRefused_AndLeavesItRunning()
    {
        var before = lab.Cli.Status(lab.Name).ToJsonString();

        var (code, _, error) = lab.Cli.Run("up", "-f", lab.LabFile, "--name", lab.Name);

        Assert.Equal(3, code);
        Assert.Contains($"lab {lab.Name} already exists", error);
        Assert.Equal(before, lab.Cli.Status(lab.Name).ToJsonString());
    }

    /// <summary>The measured 80/TCP matrix of the running lab.</summary>
    private JsonNode Reach()
    {
        var output = lab.Cli.Must("reach", "--name", lab.Name, "--port", "80/TCP", "-o", "json");
        return JsonNode.Parse(output)!["results"]![0]!["matrix"]!;
    }
}
