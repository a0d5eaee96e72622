using Patronus.Cni.Addressing;
using Patronus.Cni.Config;
using Patronus.Cni.Ipam;
using Patronus.Cni.Plumbing;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// GC (SPEC.md, "GC: Clean up any stale resources"): everything of this network that belongs to no attachment
/// in <c>cni.dev/valid-attachments</c> goes: the built-in IPAM's allocations (a delegated IPAM gets GC itself),
/// and host veths (and ifbs) named by this plugin that sit on this network's bridge, or on no bridge at all
/// (an ADD killed before it enslaved the veth).
/// </summary>
public static class GcCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        var valid = conf.ValidAttachments ?? [];
        var addresses = AddressSources.For(conf, env);
        if (addresses is BuiltInIpam builtIn)
        {
            builtIn.Store.Collect(valid.ToHashSet());
        }
        else if (addresses is DelegatedIpam delegated && Spec.CniVersion.HasGcAndStatus(conf.CniVersion))
        {
            DelegatedIpam.TolerateOlderPlugin(delegated.Gc);
        }

        var keep = valid.Select(a => HostVethName.For(a.ContainerId, a.IfName))
            .Concat(valid.Select(a => HostVethName.IfbFor(a.ContainerId, a.IfName)))
            .ToHashSet();
        using var node = RtNetlink.Open();
        var bridge = node.LinkByName(conf.Bridge);
        foreach (var link in node.LinkList())
        {
            var ours = (link.Kind == "veth" && HostVethName.IsOurs(link.Name)
                        && (link.MasterIndex is null || link.MasterIndex == bridge?.Index))
                       || (link.Kind == "ifb" && HostVethName.IsOurs(link.Name, HostVethName.IfbPrefix));
            if (ours && !keep.Contains(link.Name))
            {
                VethSetup.DeleteIfPresent(node, link.Index);
            }
        }

        return [];
    }
}
