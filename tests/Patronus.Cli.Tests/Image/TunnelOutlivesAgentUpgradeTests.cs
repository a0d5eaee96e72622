using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Patronus.Cli.Tests.Lab;
using Patronus.Cli.Tests.Lab.Persistent;
using Patronus.Cli.Tests.Support;
using Patronus.Testing;
using Xunit.Abstractions;

namespace Patronus.Cli.Tests.Image;

/// <summary>
/// The mesh's upgrade drill through a tunnel: two lab clusters joined by a WAN link, each with one gateway; cluster-b's
/// gateway changes hands to what `patronus install --dry-run` prints for cluster-b (its own values), run from the image
/// by podman as kubelet would: the patronus-wireguard DaemonSet's wireguard-go and the agent's pod. 10 ms UDP streams
/// between a pod of cluster-a and a pod of cluster-b, both ways, cross the tunnel while the agent's container is
/// replaced by a new one from the same image: the wireguard-go container runs on, and the new agent adopts its device.
/// </summary>
[Collection(ImageCollection.Name)]
public sealed partial class TunnelOutlivesAgentUpgradeTests(PatronusImage image, ITestOutputHelper output) : IDisposable
{
    private readonly LabCli _cli = new();
    private readonly string _lab = LabCli.NewName();
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-tunnelupgrade-").FullName;
    // Short: unix socket paths of the agent live under it.
    private readonly string _nodeRoot = Path.Combine("/tmp", $"pwg-{Guid.NewGuid().ToString("N")[..8]}");
    private readonly List<string> _containers = [];

    [Fact]
    public async Task AgentUpgradeOnAGateway_KeepsTheTunnelCarryingTraffic_AndTheNewAgentAdoptsTheDevice()
    {
        File.WriteAllText(Path.Combine(_files, "lab.yaml"), """
            clusters:
            - id: cluster-a
              podCIDR: 10.244.0.0/16
              serviceCIDR: 10.96.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              manifests: [a.yaml]
            - id: cluster-b
              podCIDR: 10.248.0.0/16
              serviceCIDR: 10.97.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              manifests: [b.yaml]
            wan:
            - {id: fiber, between: [cluster-a, cluster-b]}
            """);
        File.WriteAllText(Path.Combine(_files, "a.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: sender, namespace: default}
            spec: {nodeName: gw-1, containers: [{name: sender, image: busybox}]}
            """);
        File.WriteAllText(Path.Combine(_files, "b.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: receiver, namespace: default}
            spec: {nodeName: gw-1, containers: [{name: receiver, image: busybox}]}
            """);
        _cli.Must("up", "-f", Path.Combine(_files, "lab.yaml"), "--name", _lab);
        var status = _cli.Status(_lab);
        JsonNode Cluster(string id) => status["clusters"]!.AsArray().Single(c => (string?)c!["id"] == id)!;
        var sender = Cluster("cluster-a")["pods"]![0]!;
        var receiver = Cluster("cluster-b")["pods"]![0]!;
        var (senderNetns, senderAddress) = ((string)sender["netns"]!, IPAddress.Parse((string)sender["ips"]![0]!));
        var (receiverNetns, receiverAddress) = ((string)receiver["netns"]!, IPAddress.Parse((string)receiver["ips"]![0]!));
        var gateway = Cluster("cluster-b")["nodes"]![0]!;
        var gatewayNetns = (string)gateway["netns"]!;
        var gatewayAddress = IPAddress.Parse((string)gateway["address"]!);
        Assert.True(await Poll.UntilAsync(() => Pings(senderNetns, receiverAddress), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500)), "the lab's mesh never carried a ping from cluster-a to cluster-b");

        // cluster-b's gateway changes hands: its lab agent and the lab's wireguard-go go (and the lab's device with them).
        var labNode = Path.Combine(_cli.LabDirectory(_lab), "cluster-b", "gw-1");
        var labAgent = int.Parse(File.ReadAllText(Path.Combine(labNode, "agent.pid")).Trim(), CultureInfo.InvariantCulture);
        var commandLine = File.ReadAllText($"/proc/{labAgent}/cmdline").TrimEnd('\0').Split('\0');
        string Option(string name) => commandLine[Array.IndexOf(commandLine, name) + 1];
        var labDevice = Option("--mesh-interface");
        var labWireGuard = int.Parse(Command.Run("pgrep", ["-f", $"^wireguard-go {labDevice}$"]).Stdout.Trim(), CultureInfo.InvariantCulture);
        foreach (var pid in new[] { labAgent, labWireGuard })
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit();
        }
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(!NetworkNamespace.Ip(gatewayNetns, "link show").Contains(labDevice)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500)));

        // kubectl apply of `patronus install --dry-run` with cluster-b's own values (those the lab gave its agent).
        var remote = Path.Combine(_files, "remote-clusters.json");
        File.WriteAllText(remote, Option("--remote-clusters"));
        var (code, manifests, error) = Repository.Run(Repository.Artifact("patronus"),
            ["install", "--dry-run", "--cluster-id", Option("--cluster-id"), "--cluster-cidr", Option("--cluster-cidr"),
             "--service-cidr", Option("--service-cidr"), "--remote-clusters", remote, "--cluster-set-key", Option("--cluster-set-key")], TimeSpan.FromMinutes(1));
        Assert.True(code == 0, error);
        var objects = KubernetesYaml.LoadAllFromString(manifests).ToList();
        var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "patronus-config");
        Assert.Equal("cluster-b", config.Data["cluster-id"]);
        // The gateway's keys and certificate, as the operator put them on the node (`patronus mesh keys`, `mesh certify`).
        var keys = Directory.CreateDirectory(_nodeRoot + "/var/lib/patronus/mesh").FullName;
        File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in Directory.GetFiles(Option("--mesh-keys")))
            File.Copy(file, Path.Combine(keys, Path.GetFileName(file)));
        var clusterState = Path.Combine(_cli.LabDirectory(_lab), "cluster-b", "manifests");
        var pod = new DeployedPod
        {
            NodeName = "gw-1", NodeNetns = gatewayNetns, NodeRoot = _nodeRoot, ManifestsDirectory = clusterState, Image = PatronusImage.Tag, Objects = objects,
            // Where the other cluster reaches this gateway: a real Node would list its WAN address (an ExternalIP) among its addresses.
            StandIns = new Dictionary<string, string> { ["PATRONUS_AGENT_MESHENDPOINTS"] = Option("--mesh-endpoints") },
        };
        var kubelet = new PodmanKubelet(image, _containers, _lab);

        // The wireguard-go DaemonSet runs on this node: its nodeSelector matches the gateway's Node.
        var wireguardSpec = objects.OfType<V1DaemonSet>().Single(d => d.Metadata.Name == "patronus-wireguard").Spec.Template.Spec;
        var node = Directory.GetFiles(clusterState, "*.json").Select(f => JsonNode.Parse(File.ReadAllText(f))!).Single(o => (string?)o["kind"] == "Node" && (string?)o["metadata"]!["name"] == "gw-1");
        Assert.All(wireguardSpec.NodeSelector, label => Assert.Equal(label.Value, (string?)node["metadata"]!["labels"]![label.Key]));
        var wireguard = Assert.Single(wireguardSpec.Containers);
        kubelet.Run(pod, wireguardSpec, wireguard, "patronus-wireguard");
        var agentSpec = objects.OfType<V1DaemonSet>().Single(d => d.Metadata.Name == "patronus-agent").Spec.Template.Spec;
        kubelet.StartPod(pod, agentSpec, "patronus-agent-a");
        await kubelet.WaitReady(gatewayNetns, gatewayAddress, "patronus-agent-a", pod.HostPath("/etc/cni/net.d/10-patronus.conflist"));
        var device = "wg-sdwan";
        Assert.Equal([device], wireguard.Command.Skip(1).Where(a => !a.StartsWith('-')));
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(kubelet.Exec("patronus-agent-a", "patronus", "mesh", "status").Contains($"gateway on {device}")), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500)),
            kubelet.Exec("patronus-agent-a", "patronus", "mesh", "status") + kubelet.Logs("patronus-agent-a"));
        Assert.True(await Poll.UntilAsync(() => Pings(senderNetns, receiverAddress), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500)),
            "no ping through the tunnel of the DaemonSet's gateway:\n" + kubelet.Logs("patronus-agent-a"));
        Assert.Contains(device, NetworkNamespace.Ip(gatewayNetns, "-4 route show proto 78"));
        var wireguardPid = kubelet.Inspect("patronus-wireguard", "{{.State.Pid}}");

        // For comparison, the same streams through the same tunnel with nothing happening, for about as long as the upgrade takes.
        UdpStreamResult[] quiet;
        using (var forth = new UdpStream(senderNetns, senderAddress, receiverNetns, receiverAddress, 7100, TimeSpan.FromMilliseconds(10)))
        using (var back = new UdpStream(receiverNetns, receiverAddress, senderNetns, senderAddress, 7101, TimeSpan.FromMilliseconds(10)))
        {
            Thread.Sleep(TimeSpan.FromSeconds(12));
            quiet = [forth.Stop(), back.Stop()];
        }
        output.WriteLine($"nothing happening, 10 ms UDP streams a -> b: {quiet[0]}; b -> a: {quiet[1]}");

        // Upgrade under 10 ms UDP streams through the tunnel, both ways (into cluster-b, and out of it along the routes
        // and peers the new agent adopts): SIGTERM and the grace period, the init container, the new agent.
        using var toB = new UdpStream(senderNetns, senderAddress, receiverNetns, receiverAddress, 7102, TimeSpan.FromMilliseconds(10));
        using var toA = new UdpStream(receiverNetns, receiverAddress, senderNetns, senderAddress, 7103, TimeSpan.FromMilliseconds(10));
        Assert.True(toB.WaitForArrivals(50, TimeSpan.FromSeconds(10)) && toA.WaitForArrivals(50, TimeSpan.FromSeconds(10)), "the streams must flow before the upgrade");
        await AgentRestartTests.OnOwnThread("upgrade", () =>
        {
            kubelet.Stop("patronus-agent-a", agentSpec.TerminationGracePeriodSeconds ?? 30);
            kubelet.StartPod(pod, agentSpec, "patronus-agent-b");
        });
        await kubelet.WaitReady(gatewayNetns, gatewayAddress, "patronus-agent-b", pod.HostPath("/etc/cni/net.d/10-patronus.conflist"));
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(kubelet.Exec("patronus-agent-b", "patronus", "mesh", "status").Contains($"gateway on {device}")), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500)));
        var (arrivedB, arrivedA) = (toB.Received, toA.Received);
        Assert.True(toB.WaitForArrivals(arrivedB + 100, TimeSpan.FromSeconds(10)), "traffic into cluster-b stopped after the upgrade");
        Assert.True(toA.WaitForArrivals(arrivedA + 100, TimeSpan.FromSeconds(10)), "traffic out of cluster-b stopped after the upgrade");
        var upgrade = new[] { toB.Stop(), toA.Stop() };
        output.WriteLine($"agent container replaced on cluster-b's gateway, 10 ms UDP streams through WireGuard a -> b: {upgrade[0]}; b -> a: {upgrade[1]}");

        // Measured with wireguard-go in the agent's container instead (spawn): 1182 of 1398 lost, 11.8 s without
        // traffic. Here the tunnel never stops: most runs lose nothing; the bound leaves room for the odd datagram this
        // shared, loaded machine drops (one run in four lost 4 of 1875, with no gap over 88 ms), printed beside the
        // quiet run's figures.
        foreach (var result in upgrade)
        {
            Assert.True(result.LongestGap < TimeSpan.FromSeconds(1), $"the tunnel stopped during the upgrade: {result}");
            Assert.True(result.Lost * 100 < result.Sent, $"the tunnel lost traffic during the upgrade: {result} (nothing happening: {quiet[0]}; {quiet[1]})");
        }
        Assert.Equal(wireguardPid, kubelet.Inspect("patronus-wireguard", "{{.State.Pid}}"));
        Assert.Equal("true", kubelet.Inspect("patronus-wireguard", "{{.State.Running}}"));
        var log = kubelet.Logs("patronus-agent-b");
        Assert.Contains($"WireGuard device {device} adopted as it runs", log);
        Assert.DoesNotContain($"WireGuard device {device} created", log);
        Assert.Contains(device, NetworkNamespace.Ip(gatewayNetns, "-4 route show proto 78"));
    }

    [GeneratedRegex(@"(\d+) received")]
    private static partial Regex Received();

    private static Task<bool> Pings(string netns, IPAddress to)
    {
        var result = LabCli.InNamespace(netns, "ping", "-n", "-q", "-c", "1", "-W", "1", to.ToString());
        return Task.FromResult(Received().Match(result.Stdout) is { Success: true } m && m.Groups[1].Value == "1");
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
