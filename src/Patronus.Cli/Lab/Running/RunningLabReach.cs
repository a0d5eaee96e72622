using Patronus.Cli.Lab.Commands;
using Patronus.Cli.Policy;
using Patronus.Cli.Reach;
using Patronus.Netlink;
using Patronus.Policy.Compiled;

namespace Patronus.Cli.Lab.Running;

/// <summary>
/// <c>lab reach</c> without -f: the same matrix as the one-shot, measured in a running lab's cluster. The pods and
/// their declared ports come from the cluster's state, the traffic flows between the pods' own namespaces; this
/// process only opens the listeners and the connections (each socket made inside its pod's namespace) and closes
/// them afterwards, leaving the lab as it was.
/// </summary>
internal static class RunningLabReach
{
    /// <param name="datapath">The datapath the caller expects the cluster's agents to run; null takes whatever they run.</param>
    public static Task<int> RunAsync(string? name, string? clusterId, List<Probe> probes, bool json, string? datapath, TextWriter stdout, TextWriter stderr, CancellationToken cancellation) =>
        LabOptions.RunAsync(stderr, async store =>
        {
            var lab = LabOptions.NameOrDefault(name);
            // Checked before locking, so asking for a lab that is not there leaves no directory behind; then under the
            // lab's lock, so no apply or delete changes the cluster halfway through a measurement.
            LabAccess.Load(store, lab);
            using var labLock = store.Lock(lab, TimeSpan.FromSeconds(60));
            var record = LabAccess.LoadUp(store, lab);
            var cluster = LabAccess.Cluster(record, clusterId);
            // A running lab's agents keep the datapath they were started with; measuring "ebpf" on nftables nodes would mislead.
            if (datapath is not null && cluster.Nodes.Where(n => n.Datapath != datapath).Select(n => $"{n.Name} ({n.Datapath})").ToList() is { Count: > 0 } others)
                throw new Config.LabConfigException($"--datapath: cluster {cluster.Id} of lab {lab} runs another datapath on {string.Join(", ", others)}; choose the datapath with `lab up --datapath`");
            var (input, pods) = LabCommand.Load([cluster.ManifestsDirectory], stderr);
            if (probes.Count == 0)
                probes.AddRange(input.DeclaredProbes());
            var sandboxes = new Dictionary<LabPod, NetNs>();
            try
            {
                foreach (var pod in pods)
                {
                    var sandbox = record.Pods.FirstOrDefault(p => p.Cluster == cluster.Id && p.Namespace == pod.Id.Namespace && p.Name == pod.Id.Name)
                        ?? throw new LabException($"pod {pod.Id} is in cluster {cluster.Id}'s state but has no sandbox");
                    sandboxes[pod] = NetNs.OpenNamed(sandbox.Netns);
                }
                using var prober = new LabProber();
                prober.Listen(sandboxes, probes.Where(p => p.Protocol != Protocol.Sctp));
                var unavailable = new Dictionary<int, string>();
                var measuring = new Task<bool[][]>[probes.Count];
                using var slots = new SemaphoreSlim(512);
                for (var p = 0; p < probes.Count; p++)
                {
                    if (probes[p].Protocol == Protocol.Sctp)
                    {
                        unavailable[p] = "SCTP sockets are not available on this machine";
                        measuring[p] = Task.FromResult(Array.Empty<bool[]>());
                        continue;
                    }
                    measuring[p] = LabCommand.Measure(sandboxes, prober, pods, probes[p], slots, cancellation);
                }
                var matrix = new ReachMatrix(pods.Select(p => p.Id).ToList(), probes, await Task.WhenAll(measuring), unavailable);
                if (json)
                    matrix.WriteJson(stdout);
                else
                    matrix.WriteTable(PolicyCommand.Console(stdout));
                foreach (var reason in unavailable.Values.Distinct())
                    stderr.WriteLine($"lab: not measured: {reason}");
                return input.HadErrors ? PolicyCommand.PartialInput : PolicyCommand.Success;
            }
            finally
            {
                foreach (var ns in sandboxes.Values)
                    ns.Dispose();
            }
        });
}
