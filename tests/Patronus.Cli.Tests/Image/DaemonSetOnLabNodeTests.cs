using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Patronus.Cli.Lab.Nodes;
using Patronus.Cli.Tests.Lab;
using Patronus.Cli.Tests.Lab.Persistent;
using Patronus.Cli.Tests.Support;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Image;

/// <summary>
/// deploy/daemonset.yaml as written, run from the image by podman the way kubelet runs it on one node of a lab (node-2;
/// its lab agent is stopped first): install, pods on the node, `patronus status` in the container, an upgrade under
/// traffic, and uninstall with deploy/uninstall/cleanup.yaml. One lab, one image build and one node for all of it.
/// </summary>
[Collection(ImageCollection.Name)]
public sealed class DaemonSetOnLabNodeTests(PatronusImage image) : IDisposable
{
    // The port apps.yaml's policy allows (from client only).
    private const int GuardPort = 8080;
    private const int WebPort = 8081;
    private readonly LabCli _cli = new();
    private readonly string _lab = LabCli.NewName();
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-imagetest-").FullName;
    // Short: unix socket paths of the agent live under it.
    private readonly string _nodeRoot = Path.Combine("/tmp", $"pin-{Guid.NewGuid().ToString("N")[..8]}");
    private readonly List<string> _containers = [];

    [Fact]
    public async Task DaemonSet_InstallsOnALabNode_PodsGetItsRangeAndReachOtherNodes_UpgradeKeepsTraffic_UninstallLeavesNothing()
    {
        File.WriteAllText(Path.Combine(_files, "lab.yaml"), """
            clusters:
            - id: cluster-a
              podCIDR: 10.244.0.0/16
              serviceCIDR: 10.96.0.0/16
              nodes:
              - {name: node-1, subnet: s1}
              - {name: node-2, subnet: s1}
              manifests: [apps.yaml]
            """);
        File.WriteAllText(Path.Combine(_files, "apps.yaml"), """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
            - apiVersion: v1
              kind: Pod
              metadata: {name: client, namespace: shop, labels: {app: client}}
              spec: {nodeName: node-1, containers: [{name: client, image: busybox}]}
            - apiVersion: v1
              kind: Pod
              metadata: {name: web, namespace: shop, labels: {app: web}}
              spec: {nodeName: node-1, containers: [{name: web, image: busybox}]}
            - apiVersion: networking.k8s.io/v1
              kind: NetworkPolicy
              metadata: {name: guard-from-client, namespace: shop}
              spec:
                podSelector: {matchLabels: {app: guard}}
                policyTypes: [Ingress]
                ingress:
                - from: [{podSelector: {matchLabels: {app: client}}}]
                  ports: [{port: 8080, protocol: TCP}]
            """);
        _cli.Must("up", "-f", Path.Combine(_files, "lab.yaml"), "--name", _lab);
        var status = _cli.Status(_lab);
        var cluster = status["clusters"]![0]!;
        JsonNode Node(string name) => cluster["nodes"]!.AsArray().Single(n => (string?)n!["name"] == name)!;
        JsonNode LabPod(string name) => cluster["pods"]!.AsArray().Single(p => (string?)p!["name"] == name)!;
        var node2 = Node("node-2");
        var node2Netns = (string)node2["netns"]!;
        var node2Address = IPAddress.Parse((string)node2["address"]!);
        var node2Range = IPNetwork.Parse((string)node2["podCIDRs"]![0]!);
        var manifests = Path.Combine(_cli.LabDirectory(_lab), "cluster-a", "manifests");

        // node-2 changes hands: its lab agent goes (its rules and routes stay in the kernel, as a crashed agent's would).
        var labAgent = int.Parse(File.ReadAllText(Path.Combine(_cli.LabDirectory(_lab), "cluster-a", "node-2", "agent.pid")).Trim());
        using (var process = Process.GetProcessById(labAgent))
        {
            process.Kill();
            process.WaitForExit();
        }

        var pod = new DeployedPod { NodeName = "node-2", NodeNetns = node2Netns, NodeRoot = _nodeRoot, ManifestsDirectory = manifests, Image = PatronusImage.Tag };
        var kubelet = new PodmanKubelet(image, _containers, _lab);
        var daemonSet = DeployedPod.DaemonSet("deploy", "patronus-agent");
        var podSpec = daemonSet.Spec.Template.Spec;
        Assert.All(podSpec.Containers.Concat(podSpec.InitContainers), c => Assert.Equal(PatronusImage.Tag, c.Image));

        // Install: the init container puts the plugin into the node's CNI bin dir, then the agent writes the conflist.
        kubelet.StartPod(pod, podSpec, "patronus-agent-a");
        var plugin = pod.HostPath("/opt/cni/bin/patronus-cni");
        Assert.Equal(File.ReadAllBytes(Repository.Artifact("patronus-cni")), File.ReadAllBytes(plugin));
        Assert.True(File.GetUnixFileMode(plugin).HasFlag(UnixFileMode.OtherExecute), "the installed plugin is executable");
        Assert.Empty(Directory.GetFiles(pod.HostPath("/opt/cni/bin"), ".*"));
        var conflist = pod.HostPath("/etc/cni/net.d/10-patronus.conflist");
        await kubelet.WaitReady(node2Netns, node2Address, "patronus-agent-a", conflist);
        var ranges = JsonNode.Parse(File.ReadAllText(conflist))!["plugins"]![0]!["ipam"]!["ranges"]!.ToJsonString();
        Assert.Contains(node2Range.ToString(), ranges);

        // A pod on node-2, wired as kubelet does: the Pod object first, then the plugin from the conflist the agent wrote.
        var guardNetns = $"{_lab}.cluster-a.shop.guard";
        var guardPod = new V1Pod
        {
            ApiVersion = "v1", Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = "guard", NamespaceProperty = "shop", Labels = new Dictionary<string, string> { ["app"] = "guard" } },
            Spec = new V1PodSpec { NodeName = "node-2", Containers = [new V1Container { Name = "guard", Image = "busybox" }] },
        };
        var guardFile = Path.Combine(manifests, "Pod.shop.guard.json");
        File.WriteAllText(guardFile, KubernetesJson.Serialize(guardPod));
        NetworkNamespace.Add(guardNetns);
        NetworkNamespace.Ip(guardNetns, "link set lo up");
        var added = JsonNode.Parse(Kubelet(pod, node2Netns, "ADD", guardNetns, conflist))!;
        var guardAddress = IPAddress.Parse(((string)added["ips"]![0]!["address"]!).Split('/')[0]);
        Assert.True(node2Range.Contains(guardAddress), $"the pod on node-2 got {guardAddress}, outside node-2's range {node2Range}");
        guardPod.Status = new V1PodStatus
        {
            Phase = "Running", PodIP = guardAddress.ToString(), PodIPs = [new V1PodIP { Ip = guardAddress.ToString() }],
            HostIP = node2Address.ToString(),
        };
        File.WriteAllText(guardFile, KubernetesJson.Serialize(guardPod));
        await WaitInStep(node2Netns, node2Address);

        // `patronus status` in the agent's container reports the node, the installed plugin and the pod.
        var reported = JsonNode.Parse(kubelet.MustExec("patronus-agent-a", "patronus", "status", "-o", "json"))!["status"]!;
        Assert.Equal("node-2", (string?)reported["nodeName"]);
        Assert.True((bool)reported["ready"]!);
        Assert.True((bool)reported["plugin"]!["installed"]!);
        Assert.True((bool)reported["bridge"]!["present"]!);
        Assert.Equal(1, (int)reported["podsManaged"]!);
        Assert.Equal(1, (int)reported["networkPolicies"]!);
        var text = kubelet.MustExec("patronus-agent-a", "patronus", "status");
        Assert.Contains("CNI plugin installed: /opt/cni/bin/patronus-cni", text);

        // Reach across nodes, both ways: guard (node-2) to web (node-1), and client (node-1) to guard, the allowed path.
        using var guard = NetNs.OpenNamed(guardNetns);
        using var web = NetNs.OpenNamed((string)LabPod("web")["netns"]!);
        using var client = NetNs.OpenNamed((string)LabPod("client")["netns"]!);
        var webAddress = IPAddress.Parse((string)LabPod("web")["ips"]![0]!);
        using var webListener = web.Run(() => AgentRestartTests.Listen(WebPort));
        Assert.True(await Connects(guard, webAddress, WebPort), $"guard ({guardAddress}, node-2) cannot reach web ({webAddress}, node-1)");
        using var guardListener = guard.Run(() => AgentRestartTests.Listen(GuardPort));
        // With guard listening, a refusal can only be the policy's (enforced by node-2's agent, on guard's ingress).
        Assert.False(await Connects(web, guardAddress, GuardPort), "web reaches guard: the policy is not in force on node-2");
        var echo = AgentRestartTests.OnOwnThread("echo server", () => AgentRestartTests.EchoServer(guardListener));
        using var connection = client.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await connection.ConnectAsync(new IPEndPoint(guardAddress, GuardPort)).WaitAsync(TimeSpan.FromSeconds(5));

        // Upgrade: the agent's pod replaced by a new one from the image (kubelet: SIGTERM, grace period, init container,
        // agent) while the established connection echoes and web keeps trying the denied path.
        using var stop = new CancellationTokenSource();
        var flow = AgentRestartTests.OnOwnThread("echo client", () => AgentRestartTests.EchoUntil(connection, stop.Token));
        var denied = DeniedProbes(web, guardAddress, GuardPort, stop.Token);
        await Task.Delay(500);
        await AgentRestartTests.OnOwnThread("upgrade", () =>
        {
            kubelet.Stop("patronus-agent-a", podSpec.TerminationGracePeriodSeconds ?? 30);
            kubelet.StartPod(pod, podSpec, "patronus-agent-b");
        });
        await kubelet.WaitReady(node2Netns, node2Address, "patronus-agent-b", conflist);
        await Task.Delay(1000);
        stop.Cancel();
        var (echoes, failures, slowest) = await flow;
        var (attempts, through) = await denied;
        Assert.True(failures == 0, $"{failures} echoes failed or took over {AgentRestartTests.EchoBound.TotalSeconds} s during the upgrade (slowest {slowest.TotalMilliseconds:F0} ms)");
        Assert.True(echoes > 20, $"only {echoes} echoes went through during the upgrade");
        Assert.True(attempts > 5, $"only {attempts} denied connections were tried");
        Assert.Equal(0, through);
        connection.Dispose();
        guardListener.Dispose();
        await echo.WaitAsync(TimeSpan.FromSeconds(5));

        // Uninstall: the node is drained (kubelet deletes the pod), `kubectl delete -f deploy/` stops the agent, and
        // deploy/uninstall/cleanup.yaml's container cleans the node.
        Kubelet(pod, node2Netns, "DEL", guardNetns, conflist);
        NetworkNamespace.TryDelete(guardNetns);
        kubelet.Stop("patronus-agent-b", podSpec.TerminationGracePeriodSeconds ?? 30);
        // What the agent left behind, so that the checks after the cleanup are not vacuous.
        Assert.Contains("patronus", Command.Run("nsenter", [$"--net=/var/run/netns/{node2Netns}", "nft", "list", "tables"]).Stdout);
        Assert.NotEqual("", NetworkNamespace.Ip(node2Netns, "-4 route show proto 77").Trim());
        Assert.Contains("cni-bridge0", NetworkNamespace.Ip(node2Netns, "link show"));
        Assert.True(File.Exists(conflist) && File.Exists(plugin));
        var cleanup = DeployedPod.DaemonSet("deploy/uninstall", "patronus-cleanup").Spec.Template.Spec;
        var cleaner = Assert.Single(cleanup.Containers);
        kubelet.Run(pod, cleanup, cleaner, "patronus-cleanup");
        var log = await WaitForLog(kubelet, "patronus-cleanup", "uninstall");
        Assert.Contains("uninstalled: nothing of Patronus is left on this node", log);
        kubelet.Stop("patronus-cleanup", 5);

        var tables = NetworkNamespace.Ip(node2Netns, "-j link show");
        Assert.DoesNotContain("patronus-vxlan", tables);
        Assert.DoesNotContain("wg-sdwan", tables);
        Assert.DoesNotContain("cni-bridge0", tables);
        var nft = Command.Run("nsenter", [$"--net=/var/run/netns/{node2Netns}", "nft", "list", "tables"]);
        Assert.Equal(0, nft.ExitCode);
        Assert.DoesNotContain("patronus", nft.Stdout);
        foreach (var family in new[] { "-4", "-6" })
            foreach (var protocol in new[] { "77", "78" })
                Assert.Equal("", NetworkNamespace.Ip(node2Netns, $"{family} route show proto {protocol}").Trim());
        Assert.False(File.Exists(conflist), "the conflist is still there");
        Assert.False(File.Exists(plugin), "the plugin is still there");
        Assert.Empty(Directory.EnumerateFileSystemEntries(pod.HostPath("/var/lib/patronus")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(pod.HostPath("/var/run/patronus")));
    }

    private static async Task WaitInStep(string netns, IPAddress address)
    {
        using var http = new AgentHttp(netns, new IPEndPoint(address, 9402));
        await Task.Delay(AgentDaemon.NoticeBound);
        var deadline = DateTime.UtcNow + AgentDaemon.ReadyTimeout;
        while (await http.MetricAsync("patronus_agent_sync_lag_seconds", CancellationToken.None) is not 0.0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the agent on node-2 did not catch up with the cluster state");
            await Task.Delay(100);
        }
    }

    private static async Task<string> WaitForLog(PodmanKubelet kubelet, string container, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var log = kubelet.Logs(container);
            if (log.Contains(text, StringComparison.Ordinal))
                return log;
            Assert.True(DateTime.UtcNow < deadline, $"{container} did not log '{text}':\n{log}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// kubelet running the plugin on the node: in the node's network namespace, and in a mount namespace where the
    /// node's own /var/lib/patronus and /var/run/patronus (the DaemonSet's hostPaths) are where the conflist says.
    /// </summary>
    private string Kubelet(DeployedPod pod, string nodeNetns, string command, string podNetns, string conflist)
    {
        Directory.CreateDirectory("/var/lib/patronus");
        Directory.CreateDirectory("/var/run/patronus");
        var script = $"mount --bind {pod.HostPath("/var/lib/patronus")} /var/lib/patronus && mount --bind {pod.HostPath("/var/run/patronus")} /var/run/patronus && exec {pod.HostPath("/opt/cni/bin/patronus-cni")}";
        var start = new ProcessStartInfo("nsenter", [$"--net=/var/run/netns/{nodeNetns}", "unshare", "--mount", "--propagation", "private", "sh", "-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = $"{_lab}-guard";
        start.Environment["CNI_NETNS"] = $"/var/run/netns/{podNetns}";
        start.Environment["CNI_IFNAME"] = "eth0";
        start.Environment["CNI_PATH"] = pod.HostPath("/opt/cni/bin");
        start.Environment["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=guard";
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(NodeConflist.PluginConfig(conflist, []));
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"patronus-cni {command} failed ({process.ExitCode}): {output} {errors.Result}");
        return output;
    }

    private static async Task<bool> Connects(NetNs from, IPAddress to, int port)
    {
        using var socket = from.Run(() => new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(to, port), timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<(int Attempts, int Through)> DeniedProbes(NetNs from, IPAddress to, int port, CancellationToken stop)
    {
        int attempts = 0, through = 0;
        while (!stop.IsCancellationRequested)
        {
            using var socket = from.Run(() => new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stop);
            attempt.CancelAfter(TimeSpan.FromMilliseconds(200));
            attempts++;
            try
            {
                await socket.ConnectAsync(new IPEndPoint(to, port), attempt.Token);
                through++;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }
        }
        return (attempts, through);
    }

    public void Dispose()
    {
        foreach (var container in _containers)
            image.Podman("rm", "-f", "-t", "0", container);
        _cli.Run("down", "--name", _lab);
        _cli.Dispose();
        Command.Run("sh", ["-c", $"grep -o ' {_nodeRoot}[^ ]*' /proc/mounts | xargs -r -n1 umount -l"]);
        if (Directory.Exists(_nodeRoot))
            Directory.Delete(_nodeRoot, recursive: true);
        Directory.Delete(_files, recursive: true);
    }
}
