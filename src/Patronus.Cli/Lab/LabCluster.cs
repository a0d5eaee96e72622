using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Patronus.Kubernetes.Manifests;
using Patronus.Netlink;

namespace Patronus.Cli.Lab;

/// <summary>Where the lab finds the binaries it runs.</summary>
internal sealed record LabBinaries(string PluginDirectory, string Agent)
{
    public string Plugin => Path.Combine(PluginDirectory, "patronus-cni");

    /// <summary>This CLI, which runs the lab's WAN relays (<c>patronus lab relay</c>): artifacts/bin/patronus, else this process.</summary>
    public string Cli => File.Exists(Path.Combine(PluginDirectory, "patronus")) ? Path.Combine(PluginDirectory, "patronus") : Environment.ProcessPath!;

    /// <summary>Next to this CLI in artifacts/bin (the CLI itself lives in artifacts/lib/patronus), else /opt/cni/bin and PATH.</summary>
    public static LabBinaries Locate()
    {
        var candidates = new[]
        {
            Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "bin")),
            AppContext.BaseDirectory,
            "/opt/cni/bin",
        };
        var pluginDirectory = candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "patronus-cni")))
            ?? throw new LabException("patronus-cni not found next to patronus or in /opt/cni/bin; run ./build.sh");
        var agent = new[] { pluginDirectory, AppContext.BaseDirectory }
            .Select(d => Path.Combine(d, "patronus-agent")).FirstOrDefault(File.Exists)
            ?? throw new LabException("patronus-agent not found next to patronus-cni; run ./build.sh");
        return new LabBinaries(pluginDirectory, agent);
    }
}

internal sealed class LabException(string message) : Exception(message);

/// <summary>
/// A cluster built from network namespaces on this machine: a namespace per node holding the bridge
/// (made by the real patronus-cni) and a real patronus-agent enforcing policy, a namespace per pod
/// wired by the plugin with the pod's own address, and an underlay joining the nodes. Disposing it
/// removes everything it made, whatever state the build reached.
/// </summary>
internal sealed class LabCluster : IDisposable
{
    private const string Bridge = "patronus0";
    private const string Uplink = "uplink0";
    private readonly string _prefix = $"plab-{Random.Shared.Next(0x10000):x4}";
    private readonly List<string> _namespaces = [];
    private readonly List<Process> _agents = [];
    private readonly Dictionary<string, NetNs> _nodes = [];
    private readonly Dictionary<LabPod, NetNs> _pods = [];
    private readonly string _work = Directory.CreateTempSubdirectory("patronus-lab-").FullName;
    private readonly LabTopology _topology;
    private readonly LabBinaries _binaries;
    private readonly TextWriter _log;
    private readonly string _datapath;

    private LabCluster(LabTopology topology, LabBinaries binaries, TextWriter log, string datapath)
    {
        _topology = topology;
        _binaries = binaries;
        _log = log;
        _datapath = datapath;
    }

    public IReadOnlyDictionary<LabPod, NetNs> Pods => _pods;

    public LabTopology Topology => _topology;

    /// <summary>Builds the whole lab: nodes, underlay, agents on the given manifests, then every pod through the plugin.</summary>
    /// <param name="datapath">The agents' --datapath: nftables or ebpf.</param>
    public static LabCluster Build(LabTopology topology, IReadOnlyList<string> manifestFiles, LabBinaries binaries, TextWriter log, CancellationToken cancellation, string datapath = "nftables")
    {
        var cluster = new LabCluster(topology, binaries, log, datapath);
        try
        {
            cluster.CreateNodes();
            cluster.ConnectNodes();
            cluster.StartAgents(manifestFiles, cancellation);
            foreach (var pod in topology.Pods)
            {
                cancellation.ThrowIfCancellationRequested();
                cluster.AddPod(pod);
            }
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private NetNs CreateNamespace(string suffix)
    {
        var name = $"{_prefix}-{suffix}";
        _namespaces.Add(name);
        return NetNs.Create(name);
    }

    private static string PodNamespaceSuffix(int index) => $"p{index}";

    private void CreateNodes()
    {
        foreach (var node in _topology.Nodes)
        {
            var ns = CreateNamespace($"n{node.Index}");
            _nodes[node.Name] = ns;
            ns.Run(() =>
            {
                using var netlink = RtNetlink.Open();
                netlink.LinkSetUp(netlink.LinkByName("lo")!.Index);
                // The node routes between its bridge and the underlay, like a Kubernetes node does.
                Sysctl.Write("net/ipv4/ip_forward", "1");
                Sysctl.Write("net/ipv6/conf/all/forwarding", "1");
            });
        }
    }

    /// <summary>
    /// A fabric namespace with a bridge and each node's uplink on it, addressed on the underlay; nothing more. Routes
    /// between the nodes are their agents' (from the Node objects <see cref="WriteNodes"/> gives them), as on a real
    /// cluster. A lone node gets its uplink too: its agent finds its node's address there.
    /// </summary>
    private void ConnectNodes()
    {
        using var fabric = CreateNamespace("fabric");
        using (var netlink = RtNetlink.OpenIn(fabric))
        {
            netlink.LinkAddBridge("fabric0");
            var bridge = netlink.LinkByName("fabric0")!;
            netlink.LinkSetUp(bridge.Index);
            foreach (var node in _topology.Nodes)
            {
                var port = $"node{node.Index}";
                netlink.LinkAddVeth(port, Uplink, peerNamespace: _nodes[node.Name]);
                var link = netlink.LinkByName(port)!;
                netlink.LinkSetMaster(link.Index, bridge.Index);
                netlink.LinkSetUp(link.Index);
            }
        }
        foreach (var node in _topology.Nodes)
        {
            using var netlink = RtNetlink.OpenIn(_nodes[node.Name]);
            var uplink = netlink.LinkByName(Uplink)!;
            netlink.AddrAdd(uplink.Index, new IpPrefix(node.UnderlayV4, LabTopology.UnderlayV4.PrefixLength));
            // No duplicate address detection: the underlay's IPv6 addresses (the agents' IPv6 next hops) are usable at once.
            netlink.AddrAdd(uplink.Index, new IpPrefix(node.UnderlayV6, LabTopology.UnderlayV6.PrefixLength), AddressFlags.NoDad);
            netlink.LinkSetUp(uplink.Index);
        }
    }

    /// <summary>
    /// The Node objects kubelet and kube-controller-manager would publish: each node's pod subnets in spec.podCIDRs and
    /// its underlay addresses in status.addresses, so that its agent and the others route between them. A Node the
    /// manifests already hold keeps what it says and gets what it leaves out; the file sorts after the manifests, so
    /// it is the one the agents keep.
    /// </summary>
    private void WriteNodes(string manifests, IReadOnlyList<string> manifestFiles)
    {
        var given = ManifestLoader.LoadFiles(manifestFiles).Nodes.GroupBy(n => n.Metadata.Name).ToDictionary(g => g.Key, g => g.Last());
        var nodes = _topology.Nodes.Select(node =>
        {
            var result = given.GetValueOrDefault(node.Name) ?? new V1Node { ApiVersion = "v1", Kind = "Node", Metadata = new V1ObjectMeta { Name = node.Name } };
            result.Spec ??= new V1NodeSpec();
            if (result.Spec.PodCIDRs is not { Count: > 0 } && result.Spec.PodCIDR is null)
            {
                result.Spec.PodCIDRs = node.Subnets.Select(s => s.Network.ToString()).ToList();
                result.Spec.PodCIDR = result.Spec.PodCIDRs.FirstOrDefault();
            }
            result.Status ??= new V1NodeStatus();
            result.Status.Addresses ??=
            [
                new V1NodeAddress { Type = "InternalIP", Address = node.UnderlayV4.ToString() },
                new V1NodeAddress { Type = "InternalIP", Address = node.UnderlayV6.ToString() },
            ];
            return result;
        }).ToList();
        var list = new V1NodeList { ApiVersion = "v1", Kind = "NodeList", Items = nodes };
        File.WriteAllText(Path.Combine(manifests, "zzz-lab-nodes.json"), KubernetesJson.Serialize(list));
    }

    private void StartAgents(IReadOnlyList<string> manifestFiles, CancellationToken cancellation)
    {
        var manifests = Directory.CreateDirectory(Path.Combine(_work, "manifests")).FullName;
        foreach (var (file, i) in manifestFiles.Select((f, i) => (f, i)))
            File.Copy(file, Path.Combine(manifests, $"{i:D3}-{Path.GetFileName(file)}"));
        WriteNodes(manifests, manifestFiles);
        foreach (var node in _topology.Nodes)
            _agents.Add(StartAgentProcess(node));
        foreach (var node in _topology.Nodes)
            WaitForAgent(node, cancellation);
        // Ready includes the routes to every other node: no probe may start before pods can reach each other.
        foreach (var node in _topology.Nodes)
            WaitForReady(node, cancellation);
    }

    private void WaitForReady(LabNode node, CancellationToken cancellation)
    {
        using var http = new Nodes.AgentHttp($"{_prefix}-n{node.Index}", MetricsEndpoint(node));
        var deadline = Stopwatch.StartNew();
        while (!http.ReadyAsync(cancellation).GetAwaiter().GetResult())
        {
            var agent = _agents[node.Index];
            if (agent.HasExited)
                throw new LabException($"patronus-agent for {node.Name} exited with code {agent.ExitCode}: {Tail(Path.Combine(_work, $"agent-{node.Name}.log"))}");
            if (deadline.Elapsed > Nodes.AgentDaemon.ReadyTimeout)
                throw new LabException($"patronus-agent for {node.Name} was not ready within {Nodes.AgentDaemon.ReadyTimeout.TotalSeconds:0} s: {Tail(Path.Combine(_work, $"agent-{node.Name}.log"))}");
            Task.Delay(100, cancellation).Wait(cancellation);
        }
    }

    /// <summary>Where a node's agent serves /readyz and /metrics: its underlay address, inside the node's namespace.</summary>
    private static IPEndPoint MetricsEndpoint(LabNode node) => new(node.UnderlayV4, Plan.NodePlan.MetricsPort);

    /// <summary>Kills a node's agent without warning (SIGKILL), as a crash would.</summary>
    public void KillAgent(string nodeName)
    {
        var node = _topology.Nodes.First(n => n.Name == nodeName);
        var agent = _agents[node.Index];
        agent.Kill();
        agent.WaitForExit();
    }

    /// <summary>Starts a node's agent again on the same database and manifests; returns once it serves its socket.</summary>
    public void RestartAgent(string nodeName, CancellationToken cancellation)
    {
        var node = _topology.Nodes.First(n => n.Name == nodeName);
        _agents[node.Index].Dispose();
        File.Delete(AgentSocket(node));
        _agents[node.Index] = StartAgentProcess(node);
        WaitForAgent(node, cancellation);
    }

    public NetNs NodeNamespace(string nodeName) => _nodes[nodeName];

    private Process StartAgentProcess(LabNode node)
    {
        var start = new ProcessStartInfo(_binaries.Agent)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
                 {
                     "--manifests", Path.Combine(_work, "manifests"), "--node-name", node.Name,
                     "--socket", AgentSocket(node), "--database", AgentDatabase(node),
                     "--spool", AgentSpool(node),
                     "--metrics-address", MetricsEndpoint(node).ToString(), "--datapath", _datapath, "--bridge", Bridge,
                     // Routes between the nodes are the agents' (direct: every node is on the one fabric bridge).
                     "--routing", "auto",
                 })
            start.ArgumentList.Add(argument);
        // The eBPF datapath pins its maps in a bpffs of the node's own, which outlives a killed agent (the restart drill).
        if (_datapath == "ebpf")
        {
            start.ArgumentList.Add("--bpffs");
            start.ArgumentList.Add(NodeBpffs(node.Name));
        }
        var agent = StartOnNode(node, start);
        var logFile = Path.Combine(_work, $"agent-{node.Name}.log");
        _ = Task.Run(() => CopyLog(agent.StandardOutput, logFile));
        _ = Task.Run(() => CopyLog(agent.StandardError, logFile));
        return agent;
    }

    private static readonly Lock LogLock = new();

    private static async Task CopyLog(StreamReader reader, string file)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (LogLock)
                File.AppendAllText(file, line + "\n");
        }
    }

    private void WaitForAgent(LabNode node, CancellationToken cancellation)
    {
        var socket = AgentSocket(node);
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            var agent = _agents[node.Index];
            if (agent.HasExited)
                throw new LabException($"patronus-agent for {node.Name} exited with code {agent.ExitCode}: {Tail(Path.Combine(_work, $"agent-{node.Name}.log"))}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new LabException($"patronus-agent for {node.Name} did not open {socket} within 30 s");
            Task.Delay(50, cancellation).Wait(cancellation);
        }
    }

    private static string Tail(string file) =>
        File.Exists(file) ? string.Join('\n', File.ReadLines(file).TakeLast(5)) : "(no output)";

    private string AgentSocket(LabNode node) => Path.Combine(_work, $"agent-{node.Name}.sock");

    /// <summary>Where a node's agent mounts its bpffs (eBPF datapath only).</summary>
    public string NodeBpffs(string nodeName) => Path.Combine(_work, $"bpffs-{nodeName}");

    private string AgentDatabase(LabNode node) => Path.Combine(_work, $"{node.Name}.db");

    private string AgentSpool(LabNode node) => Path.Combine(_work, $"{node.Name}-pending");

    /// <summary>Starts a program on a node: a child process is born in the network namespace of the thread that forks it.</summary>
    private Process StartOnNode(LabNode node, ProcessStartInfo start) =>
        _nodes[node.Name].Run(() => Process.Start(start)) ?? throw new LabException($"could not start {start.FileName}");

    private void AddPod(LabPod pod)
    {
        var index = _pods.Count;
        var ns = CreateNamespace(PodNamespaceSuffix(index));
        _pods[pod] = ns;
        // The runtime's part, not the plugin's (kubelet and podman run the loopback plugin for it): a pod reaches itself over lo.
        using (var netlink = RtNetlink.OpenIn(ns))
            netlink.LinkSetUp(netlink.LinkByName("lo")!.Index);
        var node = _topology.NodeOf(pod);
        var result = JsonNode.Parse(RunPlugin("ADD", pod, index, ns));
        // What the plugin reports, not what was asked for: the addresses and the host end of the pod's veth.
        var addresses = result?["ips"]?.AsArray().Select(ip => (string?)ip?["address"]) ?? [];
        var hostEnd = result?["interfaces"]?.AsArray()
            .Where(i => i?["sandbox"] is null && (string?)i?["name"] != Bridge)
            .Select(i => (string?)i?["name"]).FirstOrDefault();
        _log.WriteLine($"  {pod.Id,-32} {string.Join(", ", addresses),-36} on {node.Name}, host veth {hostEnd}");
    }

    private string RunPlugin(string command, LabPod pod, int index, NetNs ns)
    {
        var node = _topology.NodeOf(pod);
        var start = new ProcessStartInfo(_binaries.Plugin)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = $"{_prefix}-pod{index}";
        start.Environment["CNI_NETNS"] = ns.Path;
        start.Environment["CNI_IFNAME"] = "eth0";
        start.Environment["CNI_PATH"] = _binaries.PluginDirectory;
        start.Environment["CNI_ARGS"] = $"IgnoreUnknown=1;K8S_POD_NAMESPACE={pod.Id.Namespace};K8S_POD_NAME={pod.Id.Name}";
        var process = StartOnNode(node, start);
        // stderr is drained alongside stdout so that neither pipe can fill up and stall the plugin.
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(PluginConfig(node, pod));
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new LabException($"patronus-cni {command} for {pod.Id} failed: {output.Trim()} {errors.Result.Trim()}");
        return output;
    }

    private string PluginConfig(LabNode node, LabPod pod)
    {
        var ranges = new JsonArray(node.Subnets.Select(s => (JsonNode)new JsonArray(new JsonObject
        {
            ["subnet"] = s.Network.ToString(),
            ["gateway"] = s.Gateway.ToString(),
        })).ToArray());
        var config = new JsonObject
        {
            ["cniVersion"] = "1.1.0",
            ["name"] = "patronus-lab",
            ["type"] = "patronus-cni",
            ["bridge"] = Bridge,
            ["isGateway"] = true,
            ["isDefaultGateway"] = true,
            ["ipam"] = new JsonObject
            {
                ["type"] = "patronus-ipam",
                ["dataDir"] = Path.Combine(_work, "ipam", node.Name),
                ["ranges"] = ranges,
            },
            ["sdwan"] = new JsonObject
            {
                ["enable_policy_enforcement"] = true,
                ["database"] = AgentDatabase(node),
                ["agent_socket"] = AgentSocket(node),
                ["agent_spool_dir"] = AgentSpool(node),
            },
            ["runtimeConfig"] = new JsonObject
            {
                ["ips"] = new JsonArray(pod.Addresses.Select(a => (JsonNode)$"{a}/{_topology.SubnetFor(pod, a).Network.PrefixLength}").ToArray()),
            },
        };
        return config.ToJsonString();
    }

    public void Dispose()
    {
        foreach (var agent in _agents)
        {
            try
            {
                if (!agent.HasExited)
                {
                    agent.Kill(entireProcessTree: true);
                    agent.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            agent.Dispose();
        }
        foreach (var ns in _pods.Values.Concat(_nodes.Values))
            ns.Dispose();
        // Deleting the namespaces removes every veth, bridge, route and nftables rule the lab made in them.
        foreach (var name in Enumerable.Reverse(_namespaces))
        {
            try
            {
                NetNs.Delete(name);
            }
            catch (Exception e)
            {
                _log.WriteLine($"lab: could not delete network namespace {name}: {e.Message}");
            }
        }
        foreach (var node in _topology.Nodes)
        {
            try
            {
                LabMounts.Unmount(NodeBpffs(node.Name));
            }
            catch (LabException e)
            {
                _log.WriteLine($"lab: {e.Message}");
            }
        }
        if (Environment.GetEnvironmentVariable("PATRONUS_LAB_KEEP_LOGS") == "1")
        {
            _log.WriteLine($"lab: agent logs kept in {_work}");
            return;
        }
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
