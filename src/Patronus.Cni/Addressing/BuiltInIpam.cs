using Patronus.Cni.Config;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Addressing;

/// <summary><c>"type": "patronus-ipam"</c>: the store runs in process, no exec.</summary>
public sealed class BuiltInIpam(PatronusIpam ipam, CniEnvironment env, NetConf conf) : IAddressSource
{
    public PatronusIpam Store => ipam;

    public CniResult Allocate()
    {
        var lease = ipam.Allocate(env.ContainerId, env.IfName, conf.Runtime.Ips.Count > 0 ? conf.Runtime.Ips : null);
        return ToResult(lease);
    }

    public void Release() => ipam.Release(env.ContainerId, env.IfName);

    public void Check()
    {
        if (ipam.Find(env.ContainerId, env.IfName) is null)
        {
            throw new CniException(CheckFailure.Code,
                $"ipam: attachment {env.ContainerId}/{env.IfName} holds no address in network \"{conf.Name}\"");
        }
    }

    private CniResult ToResult(IpamLease lease) => new(
        conf.CniVersion,
        [],
        [.. lease.Addresses.Select(a => new CniIpConfig(a.Address, a.PrefixLength, a.Gateway, null))],
        [.. lease.Routes.Select(r => new CniRoute(r.Destination, r.Gateway))],
        null);
}
