using System.Net;
using k8s;
using k8s.Models;
using Patronus.Cli.Lab.ClusterState;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Fabric;
using Patronus.Cli.Lab.Mesh;
using Patronus.Cli.Lab.Nodes;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Pods;
using Patronus.Cli.Lab.Processes;
using Patronus.Cli.Lab.State;
using Patronus.Cli.Lab.Wan;
using Patronus.Kubernetes.Manifests;

namespace Patronus.Cli.Lab.Running;

/// <summary>
/// <c>lab up</c>: reads and checks everything first (LAB.yaml, the layout, the manifests, where each pod goes), so
/// bad input makes nothing at all; then builds the fabric and the nodes, writes each cluster's state, starts the
/// agents, wires every pod, and returns once every agent is ready and in step with its cluster's state. A build
/// that fails or is interrupted removes what it made, as <c>lab down</c> would (unless asked to keep it).
/// </summary>
internal sealed class LabBuilder(LabStore store, LabBinaries binaries, TextWriter log)
{
    /// <summary>A lab checked and laid out, not yet built.</summary>
    public sealed record Prepared(LabPlan Plan, string Source, IReadOnlyDictionary<string, ManifestSet> Manifests, IReadOnlyDictionary<string, List<PodPlacement>> Pods);

    /// <exception cref="LabConfigException">Bad LAB.yaml, layout or manifests; nothing has been made.</exception>
    /// <param name="datapath">Every agent's datapath, over LAB.yaml's (<c>--datapath</c>); null keeps LAB.yaml's.</param>
    public Prepared Prepare(string labFile, string? name, string? datapath = null)
    {
        var config = LabConfigReader.ReadFile(labFile);
        name ??= config.Name ?? LabNames.DefaultLab;
        if (LabNames.CheckLabName(name) is { } nameError)
            throw new LabConfigException($"--name: {nameError}");
        var plan = LabPlan.Create(config, name, store.DirectoryOf(name), datapath);
        var manifests = new Dictionary<string, ManifestSet>();
        var pods = new Dictionary<string, List<PodPlacement>>();
        var errors = new List<string>();
        foreach (var cluster in plan.Clusters)
        {
            var set = ManifestLoader.LoadFiles(cluster.Manifests);
            errors.AddRange(set.Errors.Select(e => $"cluster {cluster.Id}: {e}"));
            errors.AddRange(set.Objects().Select(ClusterStateFolder.Check).OfType<string>().Select(e => $"cluster {cluster.Id}: {e}"));
            foreach (var node in set.Nodes.Where(n => plan.Cluster(cluster.Id)!.Node(n.Metadata.Name) is null))
                log.WriteLine($"lab: cluster {cluster.Id}: Node {node.Metadata.Name} is not in {labFile}; it is written to the cluster state but gets no namespace");
            var placementErrors = new List<string>();
            pods[cluster.Id] = PodScheduler.Place(cluster, LastOfEach(set.Pods), new Dictionary<string, int>(), new HashSet<IPAddress>(), placementErrors);
            errors.AddRange(placementErrors.Select(e => $"cluster {cluster.Id}: {e}"));
            manifests[cluster.Id] = set;
        }
        if (errors.Count > 0)
            throw new LabConfigException(string.Join('\n', errors));
        return new Prepared(plan, Path.GetFullPath(labFile), manifests, pods);
    }

    /// <summary>A later manifest of the same pod replaces an earlier one, as kubectl apply would.</summary>
    internal static IEnumerable<V1Pod> LastOfEach(IEnumerable<V1Pod> pods) =>
        pods.GroupBy(p => (string.IsNullOrEmpty(p.Metadata.NamespaceProperty) ? "default" : p.Metadata.NamespaceProperty, p.Metadata.Name)).Select(g => g.Last());

    /// <exception cref="LabException">The lab exists already, or building it failed (what was made is removed unless <paramref name="retain"/>).</exception>
    public async Task<LabRecord> UpAsync(Prepared prepared, bool retain, CancellationToken cancellation)
    {
        var plan = prepared.Plan;
        var name = plan.Name;
        using var labLock = store.Lock(name, TimeSpan.FromSeconds(5));
        if (store.Load(name) is { } existing)
            throw new LabException($"lab {name} already exists ({existing.Phase}); remove it with `patronus lab down --name {name}` or choose another --name");
        if (LabTeardown.LeftoverNamespaces(name).FirstOrDefault() is { } leftover)
            throw new LabException($"network namespace {leftover} of an earlier lab {name} is still there; remove it with `patronus lab down --name {name}`");

        var record = new LabRecord
        {
            Name = name,
            Plan = plan,
            Source = prepared.Source,
            Created = DateTimeOffset.UtcNow,
            Builder = ProcessTable.Describe("builder", null, null, Environment.ProcessId, null, null),
        };
        var journal = new LabJournal(store, record);
        journal.Save();
        try
        {
            await BuildAsync(journal, prepared, cancellation);
            record.Phase = LabRecord.Up;
            record.Builder = null;
            journal.Save();
            return record;
        }
        catch (Exception e) when (retain && e is not OperationCanceledException)
        {
            record.Phase = LabRecord.Failed;
            record.Builder = null;
            journal.Save();
            log.WriteLine($"lab: build failed; kept what was made for a look (`patronus lab down --name {name}` removes it)");
            throw;
        }
        catch
        {
            log.WriteLine($"lab: build failed or interrupted; removing what was made");
            LabTeardown.Remove(store, name, record, log);
            throw;
        }
    }

    /// <summary>
    /// A lab of several clusters joins them into one mesh: every agent gets the mesh options, every gateway its keys
    /// and certificate first. Only an agent that knows the options gets them (one built before the mesh refuses them).
    /// </summary>
    private Dictionary<(string Cluster, string Node), IReadOnlyList<string>> MeshOptions(LabPlan plan)
    {
        var options = new Dictionary<(string, string), IReadOnlyList<string>>();
        if (plan.Clusters.Count < 2 || !OperatingSystem.IsLinux())
            return options;
        using var setKey = LabMeshKeys.LoadOrCreateClusterSetKey(plan.Directory);
        var publicKey = LabMeshKeys.PublicKey(setKey);
        foreach (var cluster in plan.Clusters)
            foreach (var node in cluster.Nodes)
            {
                var keys = node.Gateway ? LabMeshKeys.EnsureGateway(setKey, cluster, node) : LabMeshKeys.KeysDirectory(node);
                options[(cluster.Id, node.Name)] = MeshArguments.For(plan, cluster, node, publicKey, keys);
            }
        return options;
    }

    private async Task BuildAsync(LabJournal journal, Prepared prepared, CancellationToken cancellation)
    {
        var plan = prepared.Plan;
        log.WriteLine($"lab {plan.Name}: fabric ({plan.Subnets.Count} subnet(s), router, internet {plan.Internet.Address})");
        LabFabric.Build(journal);
        foreach (var node in plan.Nodes)
        {
            cancellation.ThrowIfCancellationRequested();
            log.WriteLine($"lab {plan.Name}: node {node.Cluster}/{node.Name} on {node.Subnet}: {node.Address}, pods {string.Join(", ", node.PodCIDRs)}");
            LabFabric.AddNode(journal, node);
        }
        foreach (var link in plan.WanLinks)
        {
            cancellation.ThrowIfCancellationRequested();
            log.WriteLine($"lab {plan.Name}: wan link {link.Id} between {link.Between[0]} and {link.Between[1]} on {link.Subnet}: " +
                string.Join(", ", link.Gateways.Select(g => $"{g.Cluster}/{g.Node} {g.Address}")));
            WanFabric.Build(journal, link, binaries);
        }
        await WanFabric.WaitStartedAsync(journal.Record, plan.WanLinks, cancellation);

        foreach (var cluster in plan.Clusters)
        {
            var folder = new ClusterStateFolder(cluster.ManifestsDirectory);
            var set = prepared.Manifests[cluster.Id];
            foreach (var node in cluster.Nodes)
                folder.Put(set.Nodes.FirstOrDefault(n => n.Metadata.Name == node.Name) is { } applied
                    ? NodeObjects.Complete(plan.Name, node, applied)
                    : NodeObjects.Create(plan.Name, node));
            foreach (var obj in set.Objects().Where(o => o is not V1Pod && !(o is V1Node n && cluster.Node(n.Metadata.Name) is not null)))
                folder.Put(obj);
            // Scheduled, not yet running: the pod is in the cluster state before its sandbox, as in a real cluster.
            foreach (var placement in prepared.Pods[cluster.Id])
                folder.Put(placement.Pod);
            foreach (var node in cluster.Nodes)
                NodeConflist.WriteTemplate(node);
        }

        var mesh = MeshOptions(plan);
        foreach (var cluster in plan.Clusters)
            foreach (var node in cluster.Nodes)
                AgentDaemon.Start(journal, cluster, node, binaries, mesh.GetValueOrDefault((cluster.Id, node.Name)));
        log.WriteLine($"lab {plan.Name}: waiting for {plan.Nodes.Count()} agent(s) to route between the nodes and write their conflists");
        await AgentDaemon.WaitReadyAsync(journal.Record, plan.Nodes, cancellation);

        foreach (var cluster in plan.Clusters)
        {
            var folder = new ClusterStateFolder(cluster.ManifestsDirectory);
            foreach (var placement in prepared.Pods[cluster.Id])
            {
                cancellation.ThrowIfCancellationRequested();
                var pod = PodWiring.Add(journal, binaries, placement);
                folder.Put(PodWiring.WithStatus(placement.Pod, pod, placement.Node));
                log.WriteLine($"lab {plan.Name}: pod {cluster.Id}/{pod.Id} on {pod.Node}: {string.Join(", ", pod.Ips)}");
            }
            EndpointSliceController.Reconcile(folder);
        }
        await AgentDaemon.WaitInStepAsync(plan.Nodes, DateTime.UtcNow, cancellation);
    }
}
