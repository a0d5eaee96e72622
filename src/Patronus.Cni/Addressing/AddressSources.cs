using System.Net.Sockets;
using Patronus.Cni.Config;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Addressing;

public static class AddressSources
{
    /// <summary>
    /// The built-in store for <c>patronus-ipam</c>; any other type is a plugin on CNI_PATH. The built-in store's
    /// config is checked against the rest before anything is made: an MTU IPv6 cannot use with an IPv6 range,
    /// and a requested address whose prefix is not its range's (not for DEL and GC, which only clean up).
    /// </summary>
    public static IAddressSource For(NetConf conf, CniEnvironment env)
    {
        if (conf.Ipam is not { } ipam)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "ipam is required (for example {\"type\": \"patronus-ipam\", \"subnet\": \"10.22.0.0/16\"})");
        }

        if (!ipam.IsBuiltIn)
        {
            return new DelegatedIpam(conf, env);
        }

        var removing = env.Command is CniCommand.Del;
        var config = IpamConfig.Parse(ipam.Raw, conf.Name, forRemoval: removing);
        if (removing || env.Command is CniCommand.Gc)
        {
            // Cleaning up needs only to find the allocations; what ADD would make with this config is beside the point.
            return new BuiltInIpam(new PatronusIpam(config), env, conf);
        }

        if (config.RangeSets.SelectMany(s => s.Ranges).FirstOrDefault(r => r.Family == AddressFamily.InterNetworkV6) is { } v6)
        {
            conf.RequireMtuForIpv6($"{v6.Path} ({v6.Subnet})");
        }

        foreach (var requested in conf.Runtime.IpPrefixes)
        {
            if (config.Locate(requested.Address) is { } at && at.Range.PrefixLength != requested.PrefixLength)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig,
                    $"{requested.Field} \"{requested.Text}\": /{requested.PrefixLength} is not the prefix of {at.Range.Path} ({at.Range.Subnet}), "
                    + $"which the address gets; give the address alone or with /{at.Range.PrefixLength}");
            }
        }

        return new BuiltInIpam(new PatronusIpam(config), env, conf);
    }
}
