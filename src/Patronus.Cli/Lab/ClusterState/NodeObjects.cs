using k8s.Models;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Lab.ClusterState;

/// <summary>
/// The Node objects the lab writes into a cluster's state, as kubelet and kube-controller-manager would: the
/// node's pod ranges in spec.podCIDRs (IPv4 first; spec.podCIDR is the first of them) and its uplink addresses in
/// status.addresses.
/// </summary>
internal static class NodeObjects
{
    public const string LabLabel = "patronus.io/lab";
    public const string SubnetLabel = "patronus.io/lab-subnet";
    public const string GatewayLabel = "patronus.io/gateway";

    public static V1Node Create(string lab, NodePlan node)
    {
        var labels = new Dictionary<string, string>
        {
            ["kubernetes.io/hostname"] = node.Name,
            ["kubernetes.io/os"] = "linux",
            [LabLabel] = lab,
            [SubnetLabel] = node.Subnet,
        };
        if (node.Gateway)
            labels[GatewayLabel] = "true";
        return new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta { Name = node.Name, Labels = labels },
            Spec = new V1NodeSpec { PodCIDR = node.PodCIDRs[0].ToString(), PodCIDRs = node.PodCIDRs.Select(r => r.ToString()).ToList() },
            Status = new V1NodeStatus
            {
                Addresses =
                [
                    new V1NodeAddress { Type = "InternalIP", Address = node.Address.ToString() },
                    new V1NodeAddress { Type = "InternalIP", Address = node.AddressV6.ToString() },
                    new V1NodeAddress { Type = "Hostname", Address = node.Name },
                ],
            },
        };
    }

    /// <summary>
    /// A Node a user applies for a lab node: what they wrote wins (relabelling, readdressing and taking the ranges
    /// away are how the routes feature is tested), and what they left out is what the lab knows.
    /// </summary>
    public static V1Node Complete(string lab, NodePlan node, V1Node applied)
    {
        var known = Create(lab, node);
        applied.Metadata.Labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in known.Metadata.Labels)
            applied.Metadata.Labels.TryAdd(key, value);
        applied.Spec ??= new V1NodeSpec();
        if (applied.Spec.PodCIDRs is null && applied.Spec.PodCIDR is null)
        {
            applied.Spec.PodCIDR = known.Spec.PodCIDR;
            applied.Spec.PodCIDRs = known.Spec.PodCIDRs;
        }
        applied.Status ??= new V1NodeStatus();
        applied.Status.Addresses ??= known.Status.Addresses;
        return applied;
    }
}
