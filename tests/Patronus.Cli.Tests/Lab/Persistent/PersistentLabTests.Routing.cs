using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// Routing between the lab's nodes is the agents' (issue 8): node-1 and node-2 share subnet s1 (direct routes),
/// node-3 is on s2 behind the router (VXLAN). Checked with real packets between the pods' namespaces and with
/// iproute2 in the nodes' namespaces, independently of the product's code. Tests that change the lab (a Node
/// deleted or readdressed, an agent killed) put it back as it was.
/// </summary>
public partial class PersistentLabTests
{
    private const string Vxlan = "patronus-vxlan";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    private sealed record LabNode(string Name, string Netns, IPAddress V4, IPAddress V6, string Subnet, IReadOnlyList<string> PodCidrs);

    private sealed record LabPod(string Name, string Node, string Netns, IPAddress V4, IPAddress V6)
    {
        public IPAddress Of(AddressFamily family) => family == AddressFamily.InterNetwork ? V4 : V6;
    }

    [Fact]
    public async Task EveryPod_ReachesEveryPod_OverTcpUdpAndIcmp_IPv4AndIPv6_AndSeesTheSendersPodAddress()
    {
        var pods = Pods();
        const int port = 7070;
        var servers = pods.Select(p => new PeerEcho(p.Netns, [p.V4, p.V6], port)).ToList();
        try
        {
            var failures = new List<string>();
            var probes = new List<Task>();
            var pings = new List<(LabPod From, LabPod To, IPAddress Target)>();
            foreach (var from in pods)
                foreach (var to in pods.Where(p => p != from))
                    foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
                    {
                        var target = new IPEndPoint(to.Of(family), port);
                        var expected = from.Of(family).ToString();
                        pings.Add((from, to, target.Address));
                        probes.Add(Task.Run(async () =>
                        {
                            var tcp = await PeerEcho.TcpPeerAsync(from.Netns, target, ProbeTimeout);
                            var udp = await PeerEcho.UdpPeerAsync(from.Netns, target, ProbeTimeout);
                            lock (failures)
                            {
                                if (tcp != expected)
                                    failures.Add($"TCP {from.Name} -> {to.Name} {target}: {tcp ?? "unreachable"} (expected the sender's pod address {expected})");
                                if (udp != expected)
                                    failures.Add($"UDP {from.Name} -> {to.Name} {target}: {udp ?? "unreachable"} (expected {expected})");
                            }
                        }));
                    }
            await Task.WhenAll(probes);
            // ping after the sockets, one at a time: a blocking wait for a process on the thread pool would starve the
            // probes' continuations past their timeouts on two cores.
            foreach (var (from, to, target) in pings)
            {
                var ping = Command.Run("ip", ["netns", "exec", from.Netns, "ping", "-c", "1", "-W", "3", target.ToString()]);
                if (ping.ExitCode != 0)
                    failures.Add($"ICMP {from.Name} -> {to.Name} {target}: {ping.Stdout.Trim()} {ping.Stderr.Trim()}");
            }
            Assert.True(failures.Count == 0, string.Join('\n', failures));
            Assert.Equal(4 * 3 * 2, probes.Count);
        }
        finally
        {
            servers.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void TheRoutesBetweenNodes_AreTheAgents_DirectOnASharedSubnet_VxlanBeyondIt()
    {
        var nodes = Nodes();
        foreach (var node in nodes)
        {
            var routes = Routes(node.Netns);
            var ours = routes.Where(r => r.Contains(" proto 77", StringComparison.Ordinal)).ToList();
            foreach (var other in nodes.Where(n => n != node))
                foreach (var cidr in other.PodCidrs)
                {
                    var v4 = !cidr.Contains(':');
                    var toPods = routes.Where(r => r.StartsWith(cidr + " ", StringComparison.Ordinal)).ToList();
                    var route = Assert.Single(toPods);
                    Assert.Contains(" proto 77", route);
                    if (other.Subnet == node.Subnet)
                    {
                        Assert.Contains($"via {(v4 ? other.V4 : other.V6)} dev eth0", route);
                    }
                    else
                    {
                        Assert.Contains($"dev {Vxlan}", route);
                        Assert.Contains("onlink", route);
                    }
                }
            Assert.Equal(nodes.Where(n => n != node).Sum(n => n.PodCidrs.Count), ours.Count);

            var overlay = nodes.Where(n => n != node && n.Subnet != node.Subnet).ToList();
            var link = LabCli.InNamespace(node.Netns, "ip", "-d", "link", "show", Vxlan).Stdout;
            Assert.Contains("vxlan id 4242", link);
            Assert.Contains("dstport 8472", link);
            Assert.Contains("nolearning", link);
            var fdb = Fdb(node.Netns);
            Assert.Equal(overlay.Select(n => n.V4.ToString()).Order(), fdb.Select(e => e.Split(" dst ")[1].Split(' ')[0]).Order());
            Assert.Equal(overlay.Count * 2, Neighbours(node.Netns).Count);
        }
        // The lab only wires uplinks: the router knows no pod range, so nodes on s2 are reached over the overlay alone.
        var router = LabCli.InNamespace($"{lab.Name}.router", "ip", "route", "show").Stdout + LabCli.InNamespace($"{lab.Name}.router", "ip", "-6", "route", "show").Stdout;
        Assert.All(nodes.SelectMany(n => n.PodCidrs), cidr => Assert.DoesNotContain(cidr, router));
    }

    [Fact]
    public void DeletingANode_RemovesItsRoutesAndEntriesFromTheOthers_AndReaddressingANodeMovesThem()
    {
        var nodes = Nodes();
        var node1 = nodes.Single(n => n.Name == "node-1");
        var node2 = nodes.Single(n => n.Name == "node-2");
        var node3 = nodes.Single(n => n.Name == "node-3");
        var changes = Path.Combine(Path.GetDirectoryName(lab.LabFile)!, "node-change.yaml");

        File.WriteAllText(changes, "apiVersion: v1\nkind: Node\nmetadata: {name: node-3}\n");
        lab.Cli.Must("delete", "--name", lab.Name, "-f", changes);
        try
        {
            foreach (var node in new[] { node1, node2 })
                Eventually($"{node.Name} forgets node-3", () =>
                    !Routes(node.Netns).Any(r => node3.PodCidrs.Any(c => r.StartsWith(c + " ", StringComparison.Ordinal)))
                    && !Fdb(node.Netns).Any(e => e.Contains($"dst {node3.V4} "))
                    && !Neighbours(node.Netns).Any());
        }
        finally
        {
            // Back as it was: the lab completes the Node it is given with the node's ranges and addresses.
            lab.Cli.Must("apply", "--name", lab.Name, "-f", changes);
        }
        Eventually("node-1 routes to node-3 again", () => Routes(node1.Netns).Any(r => r.StartsWith(node3.PodCidrs[0] + " ", StringComparison.Ordinal) && r.Contains(Vxlan)));

        var (newV4, newV6) = (IPAddress.Parse("172.30.0.20"), IPAddress.Parse("fd7a:11ab::20"));
        File.WriteAllText(changes, NodeWithAddresses("node-2", newV4, newV6));
        var applied = lab.Cli.Must("apply", "--name", lab.Name, "-f", changes);
        try
        {
            Assert.Contains("node node-2 readdressed", applied);
            Assert.Contains($" {newV4}/24 ", LabCli.InNamespace(node2.Netns, "ip", "-o", "addr", "show", "eth0").Stdout);
            Eventually("node-1 routes node-2's pods to its new address", () =>
            {
                var routes = Routes(node1.Netns);
                return routes.Any(r => r.StartsWith(node2.PodCidrs[0] + " ", StringComparison.Ordinal) && r.Contains($"via {newV4} dev eth0"))
                    && routes.Any(r => r.StartsWith(node2.PodCidrs[1] + " ", StringComparison.Ordinal) && r.Contains($"via {newV6} dev eth0"))
                    && !routes.Any(r => r.Contains($"via {node2.V4} ") || r.Contains($"via {node2.V6} "));
            });
            Eventually("node-3's overlay entry for node-2 moves to its new address", () =>
            {
                var fdb = Fdb(node3.Netns);
                return fdb.Any(e => e.Contains($"dst {newV4} ")) && !fdb.Any(e => e.Contains($"dst {node2.V4} "));
            });
            var client = Pods().Single(p => p.Name == "client");
            foreach (var from in Pods().Where(p => p.Node != "node-2"))
                foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
                {
                    var ping = Command.Run("ip", ["netns", "exec", from.Netns, "ping", "-c", "1", "-W", "3", client.Of(family).ToString()]);
                    Assert.True(ping.ExitCode == 0, $"{from.Name} -> readdressed node-2's client {client.Of(family)}: {ping.Stdout}");
                }
        }
        finally
        {
            File.WriteAllText(changes, NodeWithAddresses("node-2", node2.V4, node2.V6));
            lab.Cli.Must("apply", "--name", lab.Name, "-f", changes);
        }
        Eventually("node-1 routes node-2's pods to its first address again", () => Routes(node1.Netns).Any(r => r.Contains($"via {node2.V4} dev eth0")));
    }

    [Fact]
    public async Task PodTrafficLeavingTheCluster_TakesTheNodesAddress()
    {
        var internet = (string)lab.Status["internet"]!["netns"]!;
        var (v4, v6) = (IPAddress.Parse((string)lab.Status["internet"]!["address"]!), IPAddress.Parse("2001:db8::100"));
        const int port = 7072;
        using var server = new PeerEcho(internet, [v4, v6], port);
        var nodes = Nodes();
        foreach (var pod in Pods())
        {
            var node = nodes.Single(n => n.Name == pod.Node);
            foreach (var (target, expected) in new[] { (v4, node.V4), (v6, node.V6) })
            {
                var endpoint = new IPEndPoint(target, port);
                Assert.Equal(expected.ToString(), await PeerEcho.TcpPeerAsync(pod.Netns, endpoint, ProbeTimeout));
                Assert.Equal(expected.ToString(), await PeerEcho.UdpPeerAsync(pod.Netns, endpoint, ProbeTimeout));
            }
        }
    }

    [Fact]
    public async Task AnAgentKilledUnderCrossNodeTraffic_BreaksNoFlow_AndItsSuccessorKeepsTheSameRoutes()
    {
        var pods = Pods();
        var web = pods.Single(p => p.Name == "web");
        var node = Nodes().Single(n => n.Name == web.Node);
        const int port = 7073;
        using var server = new PeerEcho(web.Netns, [web.V4, web.V6], port);
        // Long-lived connections into node-1 from node-2 (direct) and node-3 (VXLAN), IPv4 and IPv6, echoing all along.
        using var stop = new CancellationTokenSource();
        var flows = pods.Where(p => p.Node != web.Node)
            .SelectMany(p => new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }.Select(f => (From: p, Target: new IPEndPoint(web.Of(f), port))))
            .Select(flow => Task.Run(() => EchoUntil(flow.From.Netns, flow.Target, stop.Token)))
            .ToList();
        await Task.Delay(500);
        var before = KernelState(node.Netns);

        var directory = Path.Combine(lab.Cli.LabDirectory(lab.Name), "cluster-a", node.Name);
        var pid = int.Parse(File.ReadAllText(Path.Combine(directory, "agent.pid")).Trim());
        var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, Command.Run("kill", ["-9", pid.ToString()]).ExitCode);
        Eventually("the killed agent is gone", () => !File.Exists($"/proc/{pid}/cmdline") || File.ReadAllText($"/proc/{pid}/cmdline").Length == 0);
        await Task.Delay(1000);
        var whileDead = KernelState(node.Netns);

        var restarted = RestartAgent(node, commandLine, Path.Combine(directory, "agent.log"), pid);
        File.WriteAllText(Path.Combine(directory, "agent.pid"), $"{restarted}\n");
        Eventually("the restarted agent is ready", () =>
            LabCli.InNamespace(node.Netns, "busybox", "wget", "-q", "-O", "-", $"http://{node.V4}:9402/readyz").ExitCode == 0, TimeSpan.FromSeconds(90));
        await Task.Delay(1000);
        var after = KernelState(node.Netns);
        stop.Cancel();
        var exchanged = await Task.WhenAll(flows);

        Assert.Equal(before, whileDead);
        Assert.Equal(before, after);
        Assert.All(exchanged, count => Assert.True(count > 50, $"only {count} echoes over the restart"));
    }

    /// <summary>Sends a line every 20 ms on one connection and reads each answer, until stopped; any error fails the flow.</summary>
    private static async Task<int> EchoUntil(string fromNetns, IPEndPoint target, CancellationToken stop)
    {
        using var ns = Patronus.Netlink.NetNs.OpenNamed(fromNetns);
        using var socket = ns.Run(() => new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        await socket.ConnectAsync(target).WaitAsync(ProbeTimeout);
        var buffer = new byte[256];
        var count = 0;
        while (!stop.IsCancellationRequested)
        {
            await socket.SendAsync("ping\n"u8.ToArray());
            // An answer that takes over 5 s means the flow broke: the connection has no business stalling that long.
            var length = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(5));
            if (length == 0)
                throw new IOException($"connection to {target} closed by the peer after {count} echoes");
            count++;
            await Task.Delay(20, CancellationToken.None);
        }
        return count;
    }

    /// <summary>The agent started again as the lab starts it: same arguments, in the node's namespace, its own session, output to its log.</summary>
    private static int RestartAgent(LabNode node, string[] commandLine, string log, int killed)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec setsid -f nsenter --net=\"$0\" -- \"$@\" >>\"$AGENT_LOG\" 2>&1 </dev/null");
        start.ArgumentList.Add($"/var/run/netns/{node.Netns}");
        foreach (var argument in commandLine)
            start.ArgumentList.Add(argument);
        start.Environment["AGENT_LOG"] = log;
        using (var shell = Process.Start(start)!)
            shell.WaitForExit();
        var socket = commandLine[Array.IndexOf(commandLine, "--socket") + 1];
        var pid = 0;
        Eventually("the restarted agent runs", () => (pid = LabCli.ProcessesMentioning(socket).FirstOrDefault(p => p != killed)) != 0);
        return pid;
    }

    /// <summary>Everything routing put in a node: its routes, the overlay device, its forwarding and neighbour entries.</summary>
    private static string KernelState(string netns) => string.Join('\n',
    [
        .. Routes(netns),
        LabCli.InNamespace(netns, "ip", "-o", "-d", "link", "show", Vxlan).Stdout.Trim(),
        .. Fdb(netns),
        .. Neighbours(netns),
    ]);

    /// <summary>The main table, both families, one route a line.</summary>
    private static List<string> Routes(string netns) =>
        (LabCli.InNamespace(netns, "ip", "route", "show").Stdout + LabCli.InNamespace(netns, "ip", "-6", "route", "show").Stdout)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();

    /// <summary>The overlay's forwarding entries that send to another node (not the device's own address entries).</summary>
    private static List<string> Fdb(string netns) =>
        LabCli.InNamespace(netns, "bridge", "fdb", "show", "dev", Vxlan).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(" dst ")).Select(l => l.Trim()).Order(StringComparer.Ordinal).ToList();

    private static List<string> Neighbours(string netns) =>
        LabCli.InNamespace(netns, "ip", "neigh", "show", "dev", Vxlan, "nud", "permanent").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).Order(StringComparer.Ordinal).ToList();

    private static string NodeWithAddresses(string name, IPAddress v4, IPAddress v6) => $"""
        apiVersion: v1
        kind: Node
        metadata: {"{"}name: {name}{"}"}
        status:
          addresses:
          - {"{"}type: InternalIP, address: "{v4}"{"}"}
          - {"{"}type: InternalIP, address: "{v6}"{"}"}
          - {"{"}type: Hostname, address: {name}{"}"}
        """;

    /// <summary>Polls a condition of the kernel; the agents converge within about a second of a change reaching them.</summary>
    private static void Eventually(string what, Func<bool> condition, TimeSpan? within = null) =>
        Assert.True(Poll.Until(condition, within ?? TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100)), $"not so in time: {what}");

    /// <summary>The lab's nodes as the cluster state says (addresses from their Node objects, which the agents route by).</summary>
    private List<LabNode> Nodes() => lab.Status["clusters"]![0]!["nodes"]!.AsArray().Select(n =>
    {
        var name = (string)n!["name"]!;
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(lab.ManifestsDirectory, $"node.{name}.json")))!;
        var addresses = manifest["status"]!["addresses"]!.AsArray().Where(a => (string?)a!["type"] == "InternalIP").Select(a => IPAddress.Parse((string)a!["address"]!)).ToList();
        return new LabNode(name, (string)n["netns"]!,
            addresses.First(a => a.AddressFamily == AddressFamily.InterNetwork), addresses.First(a => a.AddressFamily == AddressFamily.InterNetworkV6),
            (string)manifest["metadata"]!["labels"]!["patronus.io/lab-subnet"]!,
            n["podCIDRs"]!.AsArray().Select(c => (string)c!).ToList());
    }).ToList();

    private List<LabPod> Pods() => lab.Status["clusters"]![0]!["pods"]!.AsArray().Select(p => new LabPod(
        (string)p!["name"]!, (string)p["node"]!, (string)p["netns"]!,
        IPAddress.Parse((string)p["ips"]![0]!), IPAddress.Parse((string)p["ips"]![1]!))).ToList();
}
