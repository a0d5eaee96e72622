using Patronus.Cni.Config;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Addressing;

public static class AddressSources
{
    /// <summary>The built-in store for <c>patronus-ipam</c>; any other type is a plugin on CNI_PATH.</summary>
    public static IAddressSource For(NetConf conf, CniEnvironment env)
    {
        if (conf.Ipam is not { } ipam)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "ipam is required (for example {\"type\": \"patronus-ipam\", \"subnet\": \"10.22.0.0/16\"})");
        }

        return ipam.IsBuiltIn
            ? new BuiltInIpam(new PatronusIpam(IpamConfig.Parse(ipam.Raw, conf.Name)), env, conf)
            : new DelegatedIpam(conf, env);
    }
}
