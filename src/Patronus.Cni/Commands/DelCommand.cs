using Patronus.Cni.Addressing;
using Patronus.Cni.Config;
using Patronus.Cni.Endpoints;
using Patronus.Cni.Plumbing;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// DEL: release the addresses and delete the host veth (the container end goes with it) and the ifb.
/// Everything already gone is success: the namespace, the interface, the allocation, a DEL repeated
/// (SPEC.md: "Plugins should generally complete a DEL action without error even if some resources are missing").
/// The veth is found by its name in the node's namespace, so the pod's namespace is never needed.
/// DEL returns once the kernel has unlisted the veth (names, addresses, routes, bridge port free for the
/// next ADD), not after the RCU barrier the kernel waits for before it frees the device (README: DEL).
/// </summary>
public static class DelCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        if (env.NetNs is { } path)
        {
            // A path that exists but is not a network namespace is the runtime's mistake worth reporting;
            // a path that no longer exists is the normal case after a node restart.
            NetnsPath.Exists(path);
        }

        if (conf.Sdwan is { } sdwan)
        {
            AgentRegistration.Unregister(env, sdwan);
        }

        AddressSources.For(conf, env).Release();

        using var node = RtNetlink.Open();
        VethSetup.DeleteUnlistedIfPresent(node, HostVethName.For(env.ContainerId, env.IfName), "veth");
        VethSetup.DeleteUnlistedIfPresent(node, HostVethName.IfbFor(env.ContainerId, env.IfName), "ifb");
        return [];
    }
}
