using System.Net;
using k8s;
using k8s.Models;
using Patronus.Cli.Lab.ClusterState;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Fabric;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Nodes;
using Patronus.Cli.Lab.Pods;
using Patronus.Cli.Lab.State;
using Patronus.Kubernetes.Manifests;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Running;

/// <summary>
/// <c>lab apply</c> and <c>lab delete</c>: change one cluster of a running lab, as kubectl would change a real one.
/// Objects go into (or leave) the cluster's state, where the agents see them as watch events; a new pod is
/// scheduled, written, then its sandbox is wired by the plugin and its status written, and a deleted pod is
/// unwired. Every manifest is checked before anything changes; both return once the agents are in step.
/// </summary>
internal sealed class LabChanges(LabStore store, LabBinaries binaries, TextWriter stdout)
{
    public async Task ApplyAsync(string lab, string? clusterId, IReadOnlyList<string> files, CancellationToken cancellation)
    {
        // Checked before locking, so asking for a lab that is not there leaves no directory behind.
        LabAccess.Load(store, lab);
        using var labLock = store.Lock(lab, TimeSpan.FromSeconds(60));
        var record = LabAccess.LoadUp(store, lab);
        var cluster = LabAccess.Cluster(record, clusterId);
        var set = Load(files);
        var folder = new ClusterStateFolder(cluster.ManifestsDirectory);
        var journal = new LabJournal(store, record);

        var running = record.Pods.Where(p => p.Cluster == cluster.Id).ToDictionary(p => p.Id);
        var errors = new List<string>();
        var updates = new List<(V1Pod Pod, PodRecord Record)>();
        var added = new List<V1Pod>();
        foreach (var pod in LabBuilder.LastOfEach(set.Pods))
        {
            pod.Metadata.NamespaceProperty = string.IsNullOrEmpty(pod.Metadata.NamespaceProperty) ? "default" : pod.Metadata.NamespaceProperty;
            if (!running.TryGetValue($"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}", out var current))
            {
                added.Add(pod);
                continue;
            }
            if (!string.IsNullOrEmpty(pod.Spec?.NodeName) && pod.Spec.NodeName != current.Node)
                errors.Add($"pod {current.Id}: spec.nodeName cannot change from {current.Node} to {pod.Spec.NodeName}; delete the pod and apply it again");
            var requested = pod.Status?.PodIPs?.Select(ip => ip.Ip).ToList() ?? (pod.Status?.PodIP is { } one ? [one] : []);
            if (requested.Count > 0 && !requested.ToHashSet().SetEquals(current.Ips))
                errors.Add($"pod {current.Id}: its addresses cannot change from {string.Join(", ", current.Ips)}; delete the pod and apply it again");
            pod.Spec ??= new V1PodSpec();
            pod.Spec.NodeName = current.Node;
            updates.Add((pod, current));
        }
        var perNode = record.Pods.Where(p => p.Cluster == cluster.Id).GroupBy(p => p.Node).ToDictionary(g => g.Key, g => g.Count());
        var inUse = record.Pods.SelectMany(p => p.Ips).Select(IPAddress.Parse).ToHashSet();
        var placements = PodScheduler.Place(cluster, added, perNode, inUse, errors);
        var readdressed = Readdressed(record.Plan, cluster, set.Nodes, errors);
        if (errors.Count > 0)
            throw new LabConfigException(string.Join('\n', errors));

        // The uplink first, then the Node: its agent finds its new address on the uplink when it reads the Node.
        foreach (var node in readdressed)
        {
            var old = cluster.Node(node.Name)!;
            LabFabric.Readdress(record.Plan, old, node.Address, node.AddressV6);
            record.Plan = record.Plan.WithNode(node);
            journal.Save();
            stdout.WriteLine($"{cluster.Id}: node {node.Name} readdressed: {old.Address}, {old.AddressV6} -> {node.Address}, {node.AddressV6}");
        }
        cluster = record.Plan.Cluster(cluster.Id)!;

        foreach (var obj in set.Objects().Where(o => o is not V1Pod))
        {
            var existed = folder.Contains(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
            folder.Put(obj is V1Node node && cluster.Node(node.Metadata.Name) is { } labNode ? NodeObjects.Complete(lab, labNode, node) : obj);
            Report(cluster.Id, obj, existed ? "configured" : "created");
        }
        foreach (var (pod, current) in updates)
        {
            folder.Put(PodWiring.WithStatus(pod, current, cluster.Node(current.Node)!));
            Report(cluster.Id, pod, "configured");
        }
        foreach (var placement in placements)
        {
            cancellation.ThrowIfCancellationRequested();
            folder.Put(placement.Pod);
            PodRecord pod;
            try
            {
                pod = PodWiring.Add(journal, binaries, placement);
            }
            catch (Exception e) when (e is LabException or NetlinkException or IOException)
            {
                // No half-made pod: what ADD may have done is undone (DEL never fails for what is not there).
                if (record.Pods.FirstOrDefault(p => p.Cluster == cluster.Id && p.Id == placement.Id) is { } partial)
                    PodWiring.Remove(journal, binaries, placement.Node, partial);
                folder.Remove("Pod", placement.Namespace, placement.Name);
                throw new LabException($"pod {placement.Id} could not be wired, and was removed again: {e.Message}");
            }
            folder.Put(PodWiring.WithStatus(placement.Pod, pod, placement.Node));
            Report(cluster.Id, placement.Pod, $"created on {pod.Node}: {string.Join(", ", pod.Ips)}");
        }
        EndpointSliceController.Reconcile(folder);
        await AgentDaemon.WaitInStepAsync(cluster.Nodes, DateTime.UtcNow, cancellation);
    }

    /// <summary>
    /// The lab nodes whose applied Node gives other InternalIPs than their uplinks have, as they will be once moved;
    /// an address the node cannot take is an error naming the field, and nothing changes.
    /// </summary>
    private static List<NodePlan> Readdressed(LabPlan plan, ClusterPlan cluster, IEnumerable<V1Node> nodes, List<string> errors)
    {
        var moved = new List<NodePlan>();
        foreach (var applied in nodes)
        {
            if (cluster.Node(applied.Metadata.Name) is not { } node || applied.Status?.Addresses is not { } addresses)
                continue;
            var (v4, v6) = (node.Address, node.AddressV6);
            for (var i = 0; i < addresses.Count; i++)
            {
                if (addresses[i]?.Type != "InternalIP")
                    continue;
                var field = $"node/{node.Name}: status.addresses[{i}].address";
                if (!IPAddress.TryParse(addresses[i].Address, out var address))
                {
                    errors.Add($"{field}: '{addresses[i].Address}' is not an IP address");
                    continue;
                }
                // The uplink holds one address per family: the first InternalIP of each.
                var first = addresses.Take(i).All(a => a?.Type != "InternalIP" || !IPAddress.TryParse(a.Address, out var earlier) || earlier.AddressFamily != address.AddressFamily);
                if (!first || address.Equals(node.Address) || address.Equals(node.AddressV6))
                    continue;
                if (LabFabric.CheckAddress(plan, node, address) is { } problem)
                {
                    errors.Add($"{field}: {problem}");
                    continue;
                }
                if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    v4 = address;
                else
                    v6 = address;
            }
            if (!v4.Equals(node.Address) || !v6.Equals(node.AddressV6))
                moved.Add(node with { Address = v4, AddressV6 = v6 });
        }
        if (moved.SelectMany(n => new[] { n.Address, n.AddressV6 }).GroupBy(a => a).FirstOrDefault(g => g.Count() > 1) is { } twice)
            errors.Add($"status.addresses: {twice.Key} is given to {twice.Count()} nodes");
        return moved;
    }

    public async Task DeleteAsync(string lab, string? clusterId, IReadOnlyList<string> files, CancellationToken cancellation)
    {
        // Checked before locking, so asking for a lab that is not there leaves no directory behind.
        LabAccess.Load(store, lab);
        using var labLock = store.Lock(lab, TimeSpan.FromSeconds(60));
        var record = LabAccess.LoadUp(store, lab);
        var cluster = LabAccess.Cluster(record, clusterId);
        var set = Load(files);
        var folder = new ClusterStateFolder(cluster.ManifestsDirectory);
        var journal = new LabJournal(store, record);

        var targets = set.Objects().ToList();
        // Deleting a namespace deletes what is in it, as the namespace controller would.
        foreach (var ns in set.Namespaces.Select(n => n.Metadata.Name).ToList())
            targets.AddRange(folder.Load().Objects().Where(o => o.Metadata.NamespaceProperty == ns));
        foreach (var obj in targets.DistinctBy(o => (o.Kind, Namespace(o), o.Metadata.Name)))
        {
            cancellation.ThrowIfCancellationRequested();
            if (obj is V1Pod)
            {
                var sandbox = record.Pods.FirstOrDefault(p => p.Cluster == cluster.Id && p.Namespace == Namespace(obj) && p.Name == obj.Metadata.Name);
                if (sandbox is not null)
                    PodWiring.Remove(journal, binaries, cluster.Node(sandbox.Node)!, sandbox);
                var removed = folder.Remove(obj.Kind, Namespace(obj), obj.Metadata.Name);
                Report(cluster.Id, obj, removed || sandbox is not null ? "deleted" : "not found");
                continue;
            }
            Report(cluster.Id, obj, folder.Remove(obj.Kind, Namespace(obj), obj.Metadata.Name) ? "deleted" : "not found");
        }
        EndpointSliceController.Reconcile(folder);
        await AgentDaemon.WaitInStepAsync(cluster.Nodes, DateTime.UtcNow, cancellation);
    }

    private static string? Namespace(IKubernetesObject<V1ObjectMeta> obj) =>
        obj is V1Namespace or V1Node ? null : string.IsNullOrEmpty(obj.Metadata.NamespaceProperty) ? "default" : obj.Metadata.NamespaceProperty;

    /// <summary>The manifests, all valid, or nothing changes.</summary>
    private static ManifestSet Load(IReadOnlyList<string> files)
    {
        var missing = files.Where(f => !File.Exists(f) && !Directory.Exists(f)).ToList();
        if (missing.Count > 0)
            throw new LabConfigException(string.Join('\n', missing.Select(f => $"--file: {f} does not exist")));
        var set = ManifestLoader.LoadFiles(files);
        var errors = set.Errors.Select(e => e.ToString()).Concat(set.Objects().Select(ClusterStateFolder.Check).OfType<string>()).ToList();
        if (errors.Count > 0)
            throw new LabConfigException(string.Join('\n', errors) + "\nnothing was changed");
        foreach (var obj in set.Objects())
            if (obj is not (V1Namespace or V1Node) && string.IsNullOrEmpty(obj.Metadata.NamespaceProperty))
                obj.Metadata.NamespaceProperty = "default";
        return set;
    }

    private void Report(string cluster, IKubernetesObject<V1ObjectMeta> obj, string what)
    {
        var ns = Namespace(obj);
        stdout.WriteLine($"{cluster}: {obj.Kind.ToLowerInvariant()}/{(ns is null ? "" : ns + "/")}{obj.Metadata.Name} {what}");
    }
}
