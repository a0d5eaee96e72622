using Patronus.Cni.Addressing;
using Patronus.Cni.Bandwidth;
using Patronus.Cni.Config;
using Patronus.Cni.Endpoints;
using Patronus.Cni.Plumbing;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// ADD, as a story: check the config and the namespace, ensure the bridge, create the veth, get addresses,
/// configure the container side, the gateway and the shaping, register the endpoint with the node agent
/// (which puts the pod's NetworkPolicy in force), print the result. A failure on the way undoes
/// what was done, in DEL's order: the veth (and with it the container end) and the ifb are deleted, an endpoint
/// the agent may have taken is withdrawn, and only then are the addresses released, so the next pod given
/// one of them never meets this pod's policy.
/// </summary>
public static class AddCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        var addresses = AddressSources.For(conf, env);
        using var podNs = NetnsPath.Open(env.NetNs!);
        using var node = RtNetlink.Open();
        using var pod = RtNetlink.OpenInFromThisThread(podNs);

        var bridge = BridgeSetup.Ensure(node, conf);
        var hostName = HostVethName.For(env.ContainerId, env.IfName);
        var success = false;
        var allocated = false;
        var registered = false;
        try
        {
            var (host, container) = VethSetup.Create(node, pod, podNs, bridge, conf, hostName, env.IfName);

            allocated = true;
            var ipam = addresses.Allocate();
            if (ipam.Ips.Count == 0)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"ipam: IPAM \"{conf.Ipam!.Type}\" returned no addresses");
            }

            // The built-in IPAM's ranges were checked before anything was made; a delegated IPAM's family shows only now.
            if (ipam.Ips.FirstOrDefault(ip => ip.IsIPv6) is { } v6)
            {
                conf.RequireMtuForIpv6($"address {v6.Cidr} from ipam.type \"{conf.Ipam!.Type}\"");
            }

            ContainerSetup.Configure(pod, container, ipam, conf);
            if (conf.IsGateway)
            {
                BridgeSetup.EnsureGateway(node, bridge, ipam.Ips);
            }

            if (conf.Runtime.Bandwidth is { } limits && (limits.HasIngress || limits.HasEgress))
            {
                Shaping.Apply(node, host, HostVethName.IfbFor(env.ContainerId, env.IfName), limits);
            }

            if (conf.Sdwan is { } sdwan)
            {
                // "registered" is set even when Register throws: the agent may have stored the endpoint before it
                // failed to confirm the policy (a refusal, a dropped connection), and then Undo withdraws it.
                AgentRegistration.Register(env, sdwan, host, container, ipam.Ips, out registered);
            }

            var result = BuildResult(env, conf, bridge, host, container, ipam);
            success = true;
            return CniJson.WriteResult(result);
        }
        finally
        {
            if (!success)
            {
                Undo(node, env, conf, hostName, addresses, allocated, registered);
            }
        }
    }

    private static void Undo(RtNetlink node, CniEnvironment env, NetConf conf, string hostName, IAddressSource addresses, bool allocated, bool registered)
    {
        // Best effort: the original failure is what the runtime must see, not a failure of the cleanup.
        try
        {
            VethSetup.DeleteIfPresent(node, hostName, "veth");
            VethSetup.DeleteIfPresent(node, HostVethName.IfbFor(env.ContainerId, env.IfName), "ifb");
        }
        catch (Exception)
        {
        }

        if (registered && conf.Sdwan is { } sdwan)
        {
            AgentRegistration.Unregister(env, sdwan);
        }

        if (allocated)
        {
            try
            {
                addresses.Release();
            }
            catch (Exception)
            {
            }
        }
    }

    private static CniResult BuildResult(CniEnvironment env, NetConf conf, Link bridge, Link host, Link container, CniResult ipam)
    {
        // Chained after another plugin, its interfaces come first and ours follow (SPEC.md: a plugin adds to prevResult).
        var prev = conf.PrevResult;
        var interfaces = new List<CniInterface>(prev?.Interfaces ?? []);
        var ips = new List<CniIpConfig>(prev?.Ips ?? []);
        var routes = new List<CniRoute>(prev?.Routes ?? []);
        var baseIndex = interfaces.Count;
        interfaces.Add(new CniInterface(bridge.Name, bridge.MacText, null));
        interfaces.Add(new CniInterface(host.Name, host.MacText, null));
        interfaces.Add(new CniInterface(env.IfName, container.MacText, env.NetNs, conf.Mtu));
        ips.AddRange(ipam.Ips.Select(ip => ip with { Interface = baseIndex + 2 }));
        routes.AddRange(ContainerSetup.RoutesFor(ipam, conf));
        var dns = conf.Dns is { IsEmpty: false } ? conf.Dns : ipam.Dns ?? prev?.Dns;
        return new CniResult(conf.CniVersion, interfaces, ips, routes, dns);
    }
}
