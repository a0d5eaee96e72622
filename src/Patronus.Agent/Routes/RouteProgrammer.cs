using System.Net;
using System.Net.Sockets;
using Patronus.Netlink;

namespace Patronus.Agent.Routes;

/// <summary>The node's uplink as routing needs it: the device carrying the node's address and the subnets on it.</summary>
public sealed record Uplink(int Index, string Name, int Mtu, IReadOnlyList<IPNetwork> Subnets);

/// <summary>
/// Makes the kernel hold a <see cref="RoutePlan"/>: the overlay device, its forwarding and neighbour entries, and
/// the routes to other nodes' pods. Every step replaces in place (no delete-then-add), so re-applying the same
/// plan, or adopting what an earlier agent left, never interrupts a flow; only what the plan no longer holds is
/// removed. Routes are recognised as ours by their protocol (<see cref="RouteProtocol.Patronus"/>), overlay entries
/// by living on our device.
/// </summary>
public sealed class RouteProgrammer(RtNetlink netlink)
{
    /// <summary>The overlay device: one per node, like flannel's flannel.1.</summary>
    public const string VxlanDevice = "patronus-vxlan";

    /// <summary>Finds the device that holds <paramref name="nodeAddress"/>; null when no device does.</summary>
    public Uplink? FindUplink(IPAddress nodeAddress)
    {
        var holder = netlink.AddrList().FirstOrDefault(a => a.Address.Address.Equals(nodeAddress));
        if (holder is null || netlink.LinkByIndex(holder.Index) is not { } link)
            return null;
        var subnets = netlink.AddrList(link.Index)
            .Where(a => a.Scope == 0) // universe scope: not link-local addresses
            .Select(a => a.Address.Network())
            .Select(p => new IPNetwork(p.Address, p.PrefixLength))
            .Distinct()
            .ToList();
        return new Uplink(link.Index, link.Name, link.Mtu, subnets);
    }

    /// <summary>Brings the kernel to the plan. Returns how many routes, entries and devices it changed.</summary>
    public int Apply(RoutePlan plan, Uplink uplink)
    {
        var changes = 0;
        var vxlan = EnsureOverlayDevice(plan.LocalEndpoint, uplink, ref changes);
        if (vxlan is not null)
            changes += SyncOverlayEntries(vxlan.Index, plan.Peers);

        var desired = plan.Routes.Select(r => ToKernelRoute(r, vxlan)).OfType<Route>().ToList();
        var existing = netlink.RouteList(AddressFamily.InterNetwork, protocol: RouteProtocol.Patronus)
            .Concat(netlink.RouteList(AddressFamily.InterNetworkV6, protocol: RouteProtocol.Patronus))
            .ToList();
        foreach (var route in existing)
        {
            if (!desired.Any(d => Same(d, route)))
            {
                netlink.RouteDel(route);
                changes++;
            }
        }
        foreach (var route in desired)
        {
            if (!existing.Any(e => Same(route, e)))
            {
                netlink.RouteReplace(route);
                changes++;
            }
        }
        return changes;
    }

    /// <summary>Removes every route and device this programmer made (uninstall, or the feature turned off).</summary>
    public void RemoveAll()
    {
        foreach (var family in (AddressFamily[])[AddressFamily.InterNetwork, AddressFamily.InterNetworkV6])
            foreach (var route in netlink.RouteList(family, protocol: RouteProtocol.Patronus))
                netlink.RouteDel(route);
        if (netlink.LinkByName(VxlanDevice) is { } device)
            netlink.LinkDel(device.Index);
    }

    private Link? EnsureOverlayDevice(VxlanEndpoint? local, Uplink uplink, ref int changes)
    {
        var device = netlink.LinkByName(VxlanDevice);
        if (local is null)
        {
            if (device is not null)
            {
                netlink.LinkDel(device.Index);
                changes++;
            }
            return null;
        }

        var mtu = uplink.Mtu - VxlanEndpoint.Overhead(local.Underlay.AddressFamily);
        var settings = new VxlanSettings { Vni = VxlanEndpoint.Vni, Local = local.Underlay, UnderlayIndex = uplink.Index, Port = VxlanEndpoint.Port };
        if (device is not null && (device.Kind != "vxlan" || device.Vxlan is not { } current
            || current.Vni != settings.Vni || !Equals(current.Local, settings.Local) || current.UnderlayIndex != settings.UnderlayIndex || current.Port != settings.Port))
        {
            // Readdressed node (or someone else's device of that name): the tunnel's source cannot change in place.
            netlink.LinkDel(device.Index);
            device = null;
            changes++;
        }
        if (device is null)
        {
            netlink.LinkAddVxlan(VxlanDevice, settings, mtu);
            device = netlink.LinkByName(VxlanDevice) ?? throw new InvalidOperationException($"{VxlanDevice} vanished after it was created");
            changes++;
        }
        if (!device.Mac.AsSpan().SequenceEqual(local.Mac))
        {
            // The MAC before any address: the kernel derives the IPv6 link-local address (the next hop other
            // nodes use for our IPv6 pods) from the MAC when the device comes up.
            netlink.LinkSetDown(device.Index);
            netlink.LinkSetMac(device.Index, local.Mac);
            changes++;
        }
        if (device.Mtu != mtu)
        {
            netlink.LinkSetMtu(device.Index, mtu);
            changes++;
        }

        var addresses = netlink.AddrList(device.Index, AddressFamily.InterNetwork);
        var wanted = local.AddressV4 is { } v4 ? new IpPrefix(v4, 32) : (IpPrefix?)null;
        foreach (var address in addresses.Where(a => wanted is null || !a.Address.Equals(wanted.Value)))
        {
            netlink.AddrDel(device.Index, address.Address);
            changes++;
        }
        if (wanted is { } prefix && !addresses.Any(a => a.Address.Equals(prefix)))
        {
            netlink.AddrReplace(device.Index, prefix);
            changes++;
        }
        if (!device.IsUp || changes > 0)
            netlink.LinkSetUp(device.Index);
        return netlink.LinkByIndex(device.Index);
    }

    private int SyncOverlayEntries(int device, IReadOnlyList<OverlayPeer> peers)
    {
        var changes = 0;
        var fdb = netlink.FdbList(device).Where(e => e.Destination is not null).ToList();
        foreach (var entry in fdb.Where(e => !peers.Any(p => p.Endpoint.Mac.AsSpan().SequenceEqual(e.Mac) && p.Endpoint.Underlay.Equals(e.Destination))))
        {
            netlink.FdbDel(entry);
            changes++;
        }
        var neighbours = netlink.NeighList(device).Where(n => n.State.HasFlag(NeighborState.Permanent)).ToList();
        var wantedNeighbours = peers.SelectMany(p => NeighboursOf(p.Endpoint, device)).ToList();
        foreach (var neighbour in neighbours.Where(n => !wantedNeighbours.Any(w => w.Address.Equals(n.Address) && w.Mac.AsSpan().SequenceEqual(n.Mac))))
        {
            netlink.NeighDel(neighbour);
            changes++;
        }

        foreach (var peer in peers)
        {
            if (!fdb.Any(e => peer.Endpoint.Mac.AsSpan().SequenceEqual(e.Mac) && peer.Endpoint.Underlay.Equals(e.Destination)))
            {
                netlink.FdbReplace(new FdbEntry { LinkIndex = device, Mac = peer.Endpoint.Mac, Destination = peer.Endpoint.Underlay });
                changes++;
            }
        }
        foreach (var neighbour in wantedNeighbours)
        {
            if (!neighbours.Any(n => n.Address.Equals(neighbour.Address) && n.Mac.AsSpan().SequenceEqual(neighbour.Mac)))
            {
                netlink.NeighReplace(neighbour);
                changes++;
            }
        }
        return changes;
    }

    private static IEnumerable<Neighbor> NeighboursOf(VxlanEndpoint endpoint, int device)
    {
        if (endpoint.AddressV4 is { } v4)
            yield return new Neighbor { LinkIndex = device, Address = v4, Mac = endpoint.Mac };
        yield return new Neighbor { LinkIndex = device, Address = endpoint.LinkLocalV6, Mac = endpoint.Mac };
    }

    private static Route? ToKernelRoute(PodRoute route, Link? vxlan)
    {
        var destination = new IpPrefix(route.Destination.BaseAddress, route.Destination.PrefixLength);
        if (!route.Overlay)
            return new Route { Destination = destination, Gateway = route.Gateway, Protocol = RouteProtocol.Patronus };
        if (vxlan is null)
            return null;
        // onlink: the next hop is another node's VTEP address, which no subnet of this node covers.
        return new Route { Destination = destination, Gateway = route.Gateway, LinkIndex = vxlan.Index, OnLink = true, Protocol = RouteProtocol.Patronus };
    }

    private static bool Same(Route wanted, Route actual) =>
        wanted.Destination.Equals(actual.Destination) && Equals(wanted.Gateway, actual.Gateway)
        && (wanted.LinkIndex == 0 || wanted.LinkIndex == actual.LinkIndex) && wanted.OnLink == actual.OnLink;
}
