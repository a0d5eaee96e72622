using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Processes;
using Patronus.Cli.Lab.State;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Nodes;

/// <summary>
/// A node's patronus-agent as a daemon of the lab: started in the node's namespace on the cluster's manifests
/// folder, its output in the node's agent.log and its pid in agent.pid, recorded in the lab's state before it
/// starts (the pid after).
/// </summary>
internal static class AgentDaemon
{
    public const string Role = "agent";

    /// <summary>How long an agent may take to become ready; generous, as several labs and builds share two cores.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How long an agent may take to notice a change to its manifests folder: the folder source rescans at least
    /// every 2 s (ManifestFolderSource's poll interval, the bound when inotify is unavailable) after a 50 ms settle.
    /// </summary>
    public static readonly TimeSpan NoticeBound = TimeSpan.FromSeconds(2.2);

    /// <summary>
    /// The agent as a DaemonSet would run it on the node: the cluster state, the node's name, the conflist template
    /// and where the conflist goes, the cluster's ranges (never masqueraded), and routing between nodes its own.
    /// </summary>
    /// <param name="mesh">The mesh options of a lab of several clusters (<see cref="Mesh.MeshArguments"/>), else empty.</param>
    public static IReadOnlyList<string> Arguments(ClusterPlan cluster, NodePlan node, LabBinaries binaries, IReadOnlyList<string>? mesh = null)
    {
        List<string> arguments =
        [
            "--manifests", cluster.ManifestsDirectory,
            "--node-name", node.Name,
            "--socket", node.Paths.Socket,
            "--database", node.Paths.Database,
            "--spool", node.Paths.Spool,
            // Every address of the node, not only the one the lab gave it: a readdressed node's agent stays reachable.
            "--metrics-address", $"0.0.0.0:{NodePlan.MetricsPort}",
            "--datapath", node.Datapath,
            "--routing", "auto",
            "--cluster-cidr", $"{cluster.PodCIDR},{cluster.PodCIDRv6}",
            "--service-cidr", cluster.ServiceCIDR.ToString(),
            "--masquerade", "true",
            "--cni-conf-template", node.Paths.ConflistTemplate,
            "--cni-conf-path", node.Paths.Conflist,
            "--bridge", NodeConflist.Bridge,
            "--cni-bin-dir", binaries.PluginDirectory,
        ];
        // The eBPF datapath pins its maps in a bpffs of the node's own, so they outlive a killed agent; `lab down` unmounts it.
        if (node.Datapath == "ebpf")
            arguments.AddRange(["--bpffs", node.Paths.Bpffs]);
        arguments.AddRange(mesh ?? []);
        return arguments;
    }

    public static void Start(LabJournal journal, ClusterPlan cluster, NodePlan node, LabBinaries binaries, IReadOnlyList<string>? mesh = null)
    {
        Directory.CreateDirectory(node.Paths.Directory);
        // Recorded first (pid 0: not yet known), so a crash right after the spawn still leaves its pid file's path.
        journal.AddProcess(new ProcessRecord(Role, cluster.Id, node.Name, 0, 0, node.Paths.PidFile, node.Paths.Log));
        using var ns = NetNs.OpenNamed(node.Netns);
        var pid = Daemon.Start(ns, binaries.Agent, Arguments(cluster, node, binaries, mesh), node.Paths.Log);
        File.WriteAllText(node.Paths.PidFile, $"{pid}\n");
        journal.AddProcess(ProcessTable.Describe(Role, cluster.Id, node.Name, pid, node.Paths.PidFile, node.Paths.Log));
    }

    /// <summary>
    /// Waits until every agent's /readyz says ready (which includes its routes to the other nodes) and it has written
    /// the node's conflist (kubelet starts no pod before); fails early, with its log's end, when one exits.
    /// </summary>
    public static async Task WaitReadyAsync(LabRecord record, IEnumerable<NodePlan> nodes, CancellationToken cancellation)
    {
        await Task.WhenAll(nodes.Select(async node =>
        {
            using var http = new AgentHttp(node);
            var deadline = DateTime.UtcNow + ReadyTimeout;
            while (!await http.ReadyAsync(cancellation) || !File.Exists(node.Paths.Conflist))
            {
                var process = record.Processes.FirstOrDefault(p => p.Role == Role && p.Cluster == node.Cluster && p.Node == node.Name);
                if (process is null || !ProcessTable.IsAlive(process))
                    throw new LabException($"patronus-agent of {node.Cluster}/{node.Name} exited: {Tail(node.Paths.Log)}");
                if (DateTime.UtcNow > deadline)
                    throw new LabException($"patronus-agent of {node.Cluster}/{node.Name} was not ready (or wrote no {node.Paths.Conflist}) within {ReadyTimeout.TotalSeconds:0} s (its log: {node.Paths.Log}): {Tail(node.Paths.Log)}");
                await Task.Delay(100, cancellation);
            }
        }));
    }

    /// <summary>
    /// Waits until every agent has programmed every change written to its cluster state up to <paramref name="written"/>:
    /// past the bound in which an agent notices a change, its sync lag (oldest change not yet programmed) must read 0.
    /// </summary>
    public static async Task WaitInStepAsync(IEnumerable<NodePlan> nodes, DateTime written, CancellationToken cancellation)
    {
        var wait = written + NoticeBound - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, cancellation);
        await Task.WhenAll(nodes.Select(async node =>
        {
            using var http = new AgentHttp(node);
            var deadline = DateTime.UtcNow + ReadyTimeout;
            while (await http.MetricAsync("patronus_agent_sync_lag_seconds", cancellation) is not 0.0)
            {
                if (DateTime.UtcNow > deadline)
                    throw new LabException($"patronus-agent of {node.Cluster}/{node.Name} did not catch up with the cluster state within {ReadyTimeout.TotalSeconds:0} s: {Tail(node.Paths.Log)}");
                await Task.Delay(100, cancellation);
            }
        }));
    }

    public static string Tail(string log) =>
        File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(5)) : "(no output)";
}
