using System.Net;
using k8s.Models;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Lab.Pods;

/// <summary>A pod bound to a node, with the addresses its manifest asks for (ADDRESS/PREFIX of the node's range), if any.</summary>
internal sealed record PodPlacement(V1Pod Pod, NodePlan Node, IReadOnlyList<string> FixedAddresses)
{
    public string Namespace => Pod.Metadata.NamespaceProperty;

    public string Name => Pod.Metadata.Name;

    public string Id => $"{Namespace}/{Name}";
}

/// <summary>
/// The lab's scheduler: a pod naming its spec.nodeName goes there, any other to the node with the fewest pods.
/// A pod's status.podIP (or podIPs) is kept when it lies in its node's pod ranges; without one, IPAM picks the
/// address. Pure: problems are collected, each naming the pod and the field.
/// </summary>
internal static class PodScheduler
{
    public static List<PodPlacement> Place(ClusterPlan cluster, IEnumerable<V1Pod> pods, Dictionary<string, int> podsPerNode, HashSet<IPAddress> addressesInUse, List<string> errors)
    {
        var placements = new List<PodPlacement>();
        foreach (var pod in pods)
        {
            pod.Metadata.NamespaceProperty = string.IsNullOrEmpty(pod.Metadata.NamespaceProperty) ? "default" : pod.Metadata.NamespaceProperty;
            var id = $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
            if (pod.Spec?.HostNetwork == true)
            {
                errors.Add($"pod {id}: spec.hostNetwork pods are not supported by the lab");
                continue;
            }
            NodePlan? node;
            if (!string.IsNullOrEmpty(pod.Spec?.NodeName))
            {
                node = cluster.Node(pod.Spec.NodeName);
                if (node is null)
                {
                    errors.Add($"pod {id}: spec.nodeName \"{pod.Spec.NodeName}\" is not a node of cluster {cluster.Id} (nodes: {string.Join(", ", cluster.Nodes.Select(n => n.Name))})");
                    continue;
                }
            }
            else
            {
                node = cluster.Nodes.MinBy(n => podsPerNode.GetValueOrDefault(n.Name))!;
                pod.Spec ??= new V1PodSpec();
                pod.Spec.NodeName = node.Name;
            }

            var fixedAddresses = new List<string>();
            var ok = true;
            foreach (var (field, text) in Requested(pod))
            {
                if (!IPAddress.TryParse(text, out var address))
                {
                    errors.Add($"pod {id}: {field} \"{text}\" is not an IP address");
                    ok = false;
                    continue;
                }
                var range = node.PodCIDRs.Where(r => r.Contains(address)).Select(r => (IPNetwork?)r).FirstOrDefault();
                if (range is null)
                {
                    errors.Add($"pod {id}: {field} {address} is not in the pod ranges of node {node.Name} ({string.Join(", ", node.PodCIDRs)}); leave it out and IPAM picks one");
                    ok = false;
                    continue;
                }
                if (!addressesInUse.Add(address))
                {
                    errors.Add($"pod {id}: {field} {address} is already another pod's");
                    ok = false;
                    continue;
                }
                fixedAddresses.Add($"{address}/{range.Value.PrefixLength}");
            }
            if (!ok)
                continue;
            podsPerNode[node.Name] = podsPerNode.GetValueOrDefault(node.Name) + 1;
            placements.Add(new PodPlacement(pod, node, fixedAddresses));
        }
        return placements;
    }

    /// <summary>The addresses a pod's manifest asks for: status.podIPs, or status.podIP when podIPs is empty.</summary>
    private static IEnumerable<(string Field, string Text)> Requested(V1Pod pod)
    {
        if (pod.Status?.PodIPs is { Count: > 0 } list)
            return list.Select((ip, i) => ($"status.podIPs[{i}].ip", ip?.Ip ?? ""));
        return string.IsNullOrEmpty(pod.Status?.PodIP) ? [] : [("status.podIP", pod.Status.PodIP)];
    }
}
