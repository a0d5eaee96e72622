using System.Net;
using System.Net.Sockets;
using Patronus.Cni.Config;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Plumbing;

/// <summary>Inside the pod's namespace: addresses, link up, routes.</summary>
public static class ContainerSetup
{
    public static void Configure(RtNetlink pod, Link container, CniResult ipam, NetConf conf)
    {
        foreach (var ip in ipam.Ips)
        {
            // No duplicate address detection: the address is ours by allocation, and DAD would hold it
            // "tentative" for a second or more, dropping the pod's first IPv6 packets.
            pod.AddrAdd(container.Index, new IpPrefix(ip.Address, ip.PrefixLength), ip.IsIPv6 ? AddressFlags.NoDad : AddressFlags.None);
        }

        pod.LinkSetUp(container.Index);
        foreach (var route in RoutesFor(ipam, conf))
        {
            pod.RouteReplace(new Route
            {
                Destination = new IpPrefix(route.Destination.BaseAddress, route.Destination.PrefixLength),
                Gateway = route.Gateway,
                LinkIndex = container.Index,
                Metric = route.Priority,
            });
        }
    }

    /// <summary>
    /// The IPAM's routes (a route without a gateway goes via its family's gateway), plus a default route
    /// per family via the gateway when isDefaultGateway, unless the IPAM already gave one.
    /// </summary>
    public static IReadOnlyList<CniRoute> RoutesFor(CniResult ipam, NetConf conf)
    {
        var routes = new List<CniRoute>();
        foreach (var r in ipam.Routes)
        {
            var gw = r.Gateway ?? GatewayOf(ipam, r.Destination.BaseAddress.AddressFamily);
            routes.Add(r with { Gateway = gw });
        }

        if (conf.IsDefaultGateway)
        {
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                var gw = GatewayOf(ipam, family);
                if (gw is not null && !routes.Any(r => r.Destination.PrefixLength == 0 && r.Destination.BaseAddress.AddressFamily == family))
                {
                    routes.Add(new CniRoute(new IPNetwork(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0), gw));
                }
            }
        }

        return routes;
    }

    private static IPAddress? GatewayOf(CniResult ipam, AddressFamily family) =>
        ipam.Ips.FirstOrDefault(i => i.Address.AddressFamily == family && i.Gateway is not null)?.Gateway;
}
