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
/// and host veths named by this plugin that sit on this network's bridge, or on no bridge at all (an ADD
/// killed before it enslaved the veth), with their ifbs; an ifb whose host veth is gone goes too. Veths and
/// ifbs of other networks on the same node are left alone.
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
        var links = node.LinkList();
        var veths = links.Where(l => l.Kind == "veth" && HostVethName.IsOurs(l.Name)).ToDictionary(l => l.Name[3..]);
        foreach (var link in links)
        {
            var orphan = link.Kind switch
            {
                "veth" when HostVethName.IsOurs(link.Name) =>
                    OnThisNetwork(link, bridge) && !keep.Contains(link.Name),

                // An ifb belongs to the attachment whose host veth has the same hash: another network's
                // pods keep theirs (deleting it would drop their egress traffic at the mirred redirect).
                "ifb" when HostVethName.IsOurs(link.Name, HostVethName.IfbPrefix) =>
                    !keep.Contains(link.Name)
                    && (!veths.TryGetValue(link.Name[3..], out var veth) || OnThisNetwork(veth, bridge)),
                _ => false,
            };
            if (orphan)
            {
                VethSetup.DeleteIfPresent(node, link.Index);
            }
        }

        return [];
    }

    /// <summary>A port of this network's bridge, or of none (an ADD killed before it enslaved the veth).</summary>
    private static bool OnThisNetwork(Link veth, Link? bridge) => veth.MasterIndex is null || veth.MasterIndex == bridge?.Index;
}
