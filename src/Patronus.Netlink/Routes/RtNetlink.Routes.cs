using System.Net.Sockets;
using Patronus.Netlink.Addresses;
using Patronus.Netlink.Protocol;
using Patronus.Netlink.Routes;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>Adds a route (fails with <see cref="NetlinkException.IsExists"/> when present).</summary>
    public void RouteAdd(Route route) => ModifyRoute(RouteMessageType.NewRoute, RequestFlags.Create, "add route", route);

    /// <summary>Adds a route, or replaces the one with the same destination, table, tos and metric.</summary>
    public void RouteReplace(Route route) => ModifyRoute(RouteMessageType.NewRoute, RequestFlags.Replace, "replace route", route);

    /// <summary>Deletes a route (ESRCH when absent).</summary>
    public void RouteDel(Route route) => ModifyRoute(RouteMessageType.DeleteRoute, RequestFlags.Change, "delete route", route);

    /// <summary>
    /// Lists the routes of one family in <paramref name="table"/> (main by default; 0 for every table),
    /// optionally only those through <paramref name="linkIndex"/> or installed with <paramref name="protocol"/>
    /// (<see cref="RouteProtocol.Patronus"/> lists the routes Patronus owns). Cached clones are left out.
    /// </summary>
    public IReadOnlyList<Route> RouteList(AddressFamily family, int? linkIndex = null, int table = Route.MainTable, RouteProtocol? protocol = null)
    {
        var familyByte = AddressMessages.FamilyByte(family);
        var writer = _socket.Writer();
        RouteMessages.Dump(ref writer, _socket.NextSequence(), familyByte);
        var all = new List<Route>();
        _socket.Dump(ref writer, "list", "routes", all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewRoute && RouteMessages.Parse(message) is { } route)
            {
                list.Add(route);
            }
        });

        var selected = new List<Route>(all.Count);
        foreach (var route in all)
        {
            if ((table == 0 || route.Table == table) && (linkIndex is null || route.LinkIndex == linkIndex) && route.Family == family
                && (protocol is null || route.Protocol == protocol))
            {
                selected.Add(route);
            }
        }

        return selected;
    }

    private void ModifyRoute(ushort type, ushort flags, string operation, Route route)
    {
        ArgumentNullException.ThrowIfNull(route);
        route.Destination.Validate(nameof(route.Destination));
        if (route.Gateway is { } gateway && gateway.AddressFamily != route.Family)
        {
            throw new ArgumentException($"gateway {gateway} is not in the family of destination {route.Destination}", nameof(route));
        }

        if (route.Source is { } source && source.AddressFamily != route.Family)
        {
            throw new ArgumentException($"source {source} is not in the family of destination {route.Destination}", nameof(route));
        }

        if (route.Table is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(route), route.Table, "route table must not be negative");
        }

        if (route.OnLink && route.LinkIndex <= 0)
        {
            throw new ArgumentException($"on-link route {route.Destination} needs an output link (LinkIndex)", nameof(route));
        }

        if (route.Mtu is < 68 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(route), route.Mtu, $"route MTU of {route.Destination} must be between 68 and 65535");
        }

        if (route.AdvertisedMss is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(route), route.AdvertisedMss, $"route advertised MSS of {route.Destination} must be between 1 and 65535");
        }

        var writer = _socket.Writer();
        RouteMessages.Write(ref writer, type, flags, _socket.NextSequence(), route);
        _socket.Execute(ref writer, operation, Describe(route));
    }

    private static string Describe(Route route)
    {
        var via = route.Gateway is null ? "" : $" via {route.Gateway}";
        var dev = route.LinkIndex > 0 ? $" dev #{route.LinkIndex}" : "";
        return $"{route.Destination.Network()}{via}{dev}";
    }
}
