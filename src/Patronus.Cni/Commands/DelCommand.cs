using Patronus.Cni.Addressing;
using Patronus.Cni.Config;
using Patronus.Cni.Endpoints;
using Patronus.Cni.Plumbing;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// DEL: delete the host veth (the container end goes with it) and the ifb, withdraw the endpoint from the node
/// agent, release the addresses. Everything already gone is success: the namespace, the interface, the
/// allocation, a DEL repeated (SPEC.md: "Plugins should generally complete a DEL action without error even if
/// some resources are missing"). The veth is found by its name in the node's namespace, so <c>CNI_NETNS</c> is
/// never opened: whatever it names now (nothing, a stale mount point, a FIFO) the attachment is cleaned up by
/// container id and interface name. The agent's state never fails DEL: a removal it cannot take or queue is
/// logged and left for later (<see cref="AgentRegistration.Unregister"/>). The order keeps policy safe: the
/// pod is cut off first, its policy goes next, and its addresses are free for another pod only after that.
/// DEL returns once the kernel has unlisted the veth (names, addresses, routes, bridge port free for the
/// next ADD), not after the RCU barrier the kernel waits for before it frees the device (README: DEL).
/// </summary>
public static class DelCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        var addresses = AddressSources.For(conf, env);
        using (var node = RtNetlink.Open())
        {
            VethSetup.DeleteUnlistedIfPresent(node, HostVethName.For(env.ContainerId, env.IfName), "veth");
            VethSetup.DeleteUnlistedIfPresent(node, HostVethName.IfbFor(env.ContainerId, env.IfName), "ifb");
        }

        if (conf.Sdwan is { } sdwan)
        {
            AgentRegistration.Unregister(env, sdwan);
        }

        addresses.Release();
        return [];
    }
}
