using Patronus.Cni.Config;
using Patronus.Cni.Diagnostics;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Plumbing;

/// <summary>The node side: the bridge every pod's host veth is a port of, and its gateway addresses.</summary>
public static class BridgeSetup
{
    /// <summary>
    /// Finds or creates the bridge and brings it up. Concurrent ADDs race to create it: the loser's EEXIST
    /// is success. A link of that name that is not a bridge is a config error.
    /// </summary>
    public static Link Ensure(RtNetlink node, NetConf conf)
    {
        var bridge = node.LinkByName(conf.Bridge);
        if (bridge is null)
        {
            try
            {
                node.LinkAddBridge(conf.Bridge, conf.Mtu);
                bridge = node.LinkByName(conf.Bridge)
                    ?? throw new CniException(CniErrorCode.TryAgainLater, $"bridge \"{conf.Bridge}\" vanished right after it was created");

                // A bridge takes the lowest MAC of its ports unless one was set: pinning it keeps the gateway's
                // MAC stable as pods come and go, so pods' neighbour entries for it never go stale.
                node.LinkSetMac(bridge.Index, bridge.Mac);
            }
            catch (NetlinkException e) when (e.IsExists)
            {
                bridge = node.LinkByName(conf.Bridge);
            }
        }

        if (bridge is null || bridge.Kind != "bridge")
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                bridge is null
                    ? $"bridge \"{conf.Bridge}\" could not be found after creating it"
                    : $"bridge: \"{conf.Bridge}\" exists but is a {(bridge.Kind.Length > 0 ? bridge.Kind : "non-bridge")} device, not a bridge");
        }

        if (conf.PromiscMode && !bridge.IsPromiscuous)
        {
            node.LinkSetPromisc(bridge.Index, true);
        }

        if (!bridge.IsUp)
        {
            node.LinkSetUp(bridge.Index);
        }

        return bridge;
    }

    /// <summary>
    /// isGateway: each subnet's gateway address on the bridge (an existing one is success), and forwarding on
    /// in the node's namespace, the one the plugin runs in.
    /// </summary>
    public static void EnsureGateway(RtNetlink node, Link bridge, IReadOnlyList<CniIpConfig> ips)
    {
        var v4 = false;
        var v6 = false;
        foreach (var ip in ips)
        {
            if (ip.Gateway is not { } gw)
            {
                continue;
            }

            v4 |= !ip.IsIPv6;
            v6 |= ip.IsIPv6;
            var prefix = new IpPrefix(gw, ip.PrefixLength);
            try
            {
                node.AddrAdd(bridge.Index, prefix, ip.IsIPv6 ? AddressFlags.NoDad : AddressFlags.None);
            }
            catch (NetlinkException e) when (e.IsExists)
            {
            }
        }

        if (v4)
        {
            EnsureSysctl("net/ipv4/ip_forward", "1");
        }

        if (v6)
        {
            EnsureSysctl("net/ipv6/conf/all/forwarding", "1");
        }
    }

    private static void EnsureSysctl(string key, string value)
    {
        try
        {
            if (Sysctl.Read(key) != value)
            {
                Sysctl.Write(key, value);
            }
        }
        catch (IOException e)
        {
            // Sysctl wraps the framework's exception, whose text is a resource key in this build: the errno says it.
            throw new CniException(CniErrorCode.IoFailure,
                $"isGateway: cannot set {key.Replace('/', '.')} to {value} in the node's namespace: {SystemErrorText.Describe(e.InnerException ?? e)}");
        }
    }
}
