using Patronus.Cni.Config;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Plumbing;

/// <summary>The veth pair: host end a port of the bridge, container end created directly inside the pod's namespace.</summary>
public static class VethSetup
{
    /// <summary>
    /// Creates the pair with the container end already named <c>CNI_IFNAME</c> inside the pod's namespace
    /// (one RTM_NEWLINK, no rename, no move). A host end left by an earlier, interrupted ADD of the same
    /// attachment is deleted (its peer goes with it) and the pair made again, so a retried ADD starts clean.
    /// </summary>
    public static (Link Host, Link Container) Create(
        RtNetlink node, RtNetlink pod, NetNs podNs, Link bridge, NetConf conf, string hostName, string ifName)
    {
        // Optimistic: create first and look only when the kernel says a name is taken (saves two round trips
        // on every ADD; the collision is the rare case). The host end is created enslaved and up, and the
        // kernel's echo of it spares looking it up: one request instead of four.
        Link? created;
        try
        {
            created = node.LinkAddVeth(hostName, ifName, conf.Mtu, podNs, peerMac: conf.Runtime.Mac, masterIndex: bridge.Index, up: true);
        }
        catch (NetlinkException e) when (e.IsExists)
        {
            if (node.LinkByName(hostName) is not { } stale)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment,
                    $"CNI_IFNAME: interface \"{ifName}\" already exists in {podNs.Path}");
            }

            DeleteIfPresent(node, stale.Index);
            created = node.LinkAddVeth(hostName, ifName, conf.Mtu, podNs, peerMac: conf.Runtime.Mac, masterIndex: bridge.Index, up: true);
        }

        var host = created ?? node.LinkByName(hostName)
            ?? throw new CniException(CniErrorCode.IoFailure, $"host veth \"{hostName}\" is missing right after it was created");
        if (conf.HairpinMode)
        {
            node.LinkSetHairpin(host.Index, true);
        }

        var container = pod.LinkByName(ifName)
            ?? throw new CniException(CniErrorCode.IoFailure, $"container interface \"{ifName}\" is missing in {podNs.Path} right after it was created");
        return (host, container);
    }

    /// <summary>Deletes a link; one already gone is success (DEL must succeed when there is nothing left).</summary>
    public static void DeleteIfPresent(RtNetlink node, int index)
    {
        try
        {
            node.LinkDel(index);
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
        }
    }

    /// <summary>Deletes the link called <paramref name="name"/> if it exists and is of <paramref name="kind"/>.</summary>
    public static void DeleteIfPresent(RtNetlink node, string name, string kind)
    {
        if (node.LinkByName(name) is { } link && link.Kind == kind)
        {
            DeleteIfPresent(node, link.Index);
        }
    }

    /// <summary>
    /// DEL's delete: like <see cref="DeleteIfPresent(RtNetlink, string, string)"/>, but returns once the kernel has
    /// unlisted the link (names, addresses, routes, bridge port free for the next ADD) rather than after the
    /// kernel's RCU barrier that follows before the device is freed (see <see cref="RtNetlink.LinkDelUnlisted"/>).
    /// </summary>
    public static void DeleteUnlistedIfPresent(RtNetlink node, string name, string kind)
    {
        if (node.LinkByName(name) is { } link && link.Kind == kind)
        {
            try
            {
                node.LinkDelUnlisted(link.Index);
            }
            catch (NetlinkException e) when (e.IsNotFound)
            {
            }
        }
    }
}
