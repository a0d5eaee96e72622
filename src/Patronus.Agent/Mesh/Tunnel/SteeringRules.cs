using System.Net.Sockets;
using Patronus.Netlink;

namespace Patronus.Agent.Mesh.Tunnel;

/// <summary>
/// The policy routing rules that send steered traffic to its path: one per steered device and family, "fwmark
/// MARK/MASK lookup TABLE", ahead of the main table, installed with protocol <see cref="RouteProtocol.PatronusMesh"/>
/// so the ones that are ours are found again after a restart and nobody else's are touched. A mark whose table has
/// no route for a destination falls through to the main table, so a steering mark never strands a packet.
/// </summary>
public static class SteeringRules
{
    /// <summary>Rule priorities: <c>FirstPriority + device index</c>, before the main table's 32766.</summary>
    public const int FirstPriority = 7700;

    /// <summary>The rules these devices need (none for a single device).</summary>
    public static IReadOnlyList<RoutingRule> For(IReadOnlyList<TunnelDevice> devices) =>
        devices.Where(d => d.Mark is not null && d.RouteTable is not null)
            .SelectMany(d => new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }.Select(family => new RoutingRule
            {
                Family = family,
                Priority = FirstPriority + d.Index,
                Table = d.RouteTable!.Value,
                Mark = d.Mark,
                Mask = TunnelDevices.MarkMask,
                Protocol = RouteProtocol.PatronusMesh,
            }))
            .ToArray();

    /// <summary>Makes the namespace's rules of ours exactly those <paramref name="devices"/> need; returns how many changed.</summary>
    public static int Apply(NetNs ns, IReadOnlyList<TunnelDevice> devices) =>
        ns.Run(() =>
        {
            using var netlink = RtNetlink.Open();
            var wanted = For(devices).ToList();
            var changed = 0;
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                foreach (var rule in netlink.RuleList(family, RouteProtocol.PatronusMesh))
                {
                    var match = wanted.FindIndex(w => Same(w, rule));
                    if (match >= 0)
                    {
                        wanted.RemoveAt(match);
                        continue;
                    }
                    netlink.RuleDel(rule);
                    changed++;
                }
            }
            foreach (var rule in wanted)
            {
                netlink.RuleAdd(rule);
                changed++;
            }
            return changed;
        });

    private static bool Same(RoutingRule a, RoutingRule b) =>
        a.Family == b.Family && a.Priority == b.Priority && a.Table == b.Table && a.Mark == b.Mark && a.Mask == b.Mask
        && a.Source is null && b.Source is null && a.Destination is null && b.Destination is null && a.Action == b.Action;
}
