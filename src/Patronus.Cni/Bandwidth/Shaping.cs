using Patronus.Cni.Config;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Bandwidth;

/// <summary>
/// The <c>bandwidth</c> capability, shaped as the reference bandwidth plugin shapes it: traffic to the pod
/// (ingress) by a token bucket on the host veth's egress; traffic from the pod (egress) redirected from the
/// host veth's ingress to an ifb device and shaped by a token bucket there.
/// </summary>
public static class Shaping
{
    /// <summary>The queue may hold 25 ms of traffic at the rate beyond the burst, as the reference plugin allows.</summary>
    private const double LatencySeconds = 0.025;

    public static void Apply(RtNetlink node, Link hostVeth, string ifbName, BandwidthLimits limits)
    {
        if (limits.HasIngress)
        {
            AddTokenBucket(node, hostVeth.Index, limits.IngressRate, limits.IngressBurst);
        }

        if (limits.HasEgress)
        {
            // An ifb of this name is left over from an interrupted ADD of the same attachment: start afresh.
            if (node.LinkByName(ifbName) is { } stale)
            {
                if (stale.Kind != "ifb")
                {
                    throw new CniException(CniErrorCode.IoFailure,
                        $"bandwidth: \"{ifbName}\" exists but is a {stale.Kind} device, not the ifb this attachment shapes egress with");
                }

                node.LinkDel(stale.Index);
            }

            node.LinkAddIfb(ifbName, hostVeth.Mtu);
            var ifb = node.LinkByName(ifbName)
                ?? throw new CniException(CniErrorCode.IoFailure, $"bandwidth: ifb \"{ifbName}\" is missing right after it was created");
            node.LinkSetUp(ifb.Index);
            node.QdiscAddIngress(hostVeth.Index);
            node.FilterAddMirredRedirectAll(hostVeth.Index, ifb.Index);
            AddTokenBucket(node, ifb.Index, limits.EgressRate, limits.EgressBurst);
        }
    }

    private static void AddTokenBucket(RtNetlink node, int index, long rateBits, long burstBits)
    {
        var rate = (ulong)(rateBits / 8);
        var burst = (uint)(burstBits / 8);
        var limit = (uint)Math.Min(uint.MaxValue, (rate * LatencySeconds) + burst);
        node.QdiscAddTbf(index, rate, burst, limit);
    }
}
