using Patronus.Cni.Config;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Bandwidth;

public static class Shaping
{
    public static void Apply(RtNetlink node, Link hostVeth, string ifbName, BandwidthLimits limits) =>
        throw new CniException(CniErrorCode.UnsupportedField, "runtimeConfig.bandwidth: traffic shaping is not available in this build");
}
