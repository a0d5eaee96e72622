namespace Patronus.Agent.Datapath.Nftables;

public sealed class NftablesDatapathOptions
{
    /// <summary>
    /// Network namespace to program (a file such as /var/run/netns/node1). Null programs the agent's own
    /// namespace, which is the node's in a DaemonSet with hostNetwork.
    /// </summary>
    public string? NetworkNamespacePath { get; set; }

    /// <summary>
    /// Turn net.bridge.bridge-nf-call-iptables/ip6tables on in that namespace when they are off: without
    /// them bridged pod-to-pod traffic bypasses the inet hooks and policy would silently not apply.
    /// </summary>
    public bool EnsureBridgeNetfilter { get; set; } = true;
}
