using Patronus.Cni.Config;
using Patronus.Netlink;

namespace Patronus.Cni.Bandwidth;

/// <summary>
/// The <c>bandwidth</c> capability, shaped as the reference bandwidth plugin shapes it: traffic to the pod
/// (ingress) by a token bucket on the host veth's egress; traffic from the pod (egress) redirected from the
/// host veth's ingress to an ifb device and shaped by a token bucket there.
/// </summary>
public static class Shaping
{
    public static void Apply(RtNetlink node, Link hostVeth, string ifbName, BandwidthLimits limits)
    {
        if (limits.HasIngress)
        {
            node.QdiscAddTbf(hostVeth.Index, (ulong)(limits.IngressRate / 8), (uint)(limits.IngressBurst / 8));
        }

        if (limits.HasEgress)
        {
            node.LinkAddIfb(ifbName, hostVeth.Mtu);
            var ifb = node.LinkByName(ifbName)!;
            node.LinkSetUp(ifb.Index);
            node.QdiscAddIngress(hostVeth.Index);
            node.FilterAddMirredRedirectAll(hostVeth.Index, ifb.Index);
            node.QdiscAddTbf(ifb.Index, (ulong)(limits.EgressRate / 8), (uint)(limits.EgressBurst / 8));
        }
    }
}
