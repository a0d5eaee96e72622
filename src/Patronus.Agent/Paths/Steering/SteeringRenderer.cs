using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Datapath.Nftables;

namespace Patronus.Agent.Paths.Steering;

/// <summary>
/// The gateway's steering table, <c>inet patronus_paths</c>: packets towards a remote member's ranges get the firewall
/// mark of the path their pod's traffic takes (the default class's path, or the pod's own), and the mark's policy
/// routing rule sends them into that path's tunnel. Marked in prerouting at mangle priority, before the routing
/// decision. The whole mark is set: a packet arriving from a pod or another node carries none yet (a mark does not
/// cross network namespaces), and kube-proxy's masquerade bit is ORed in later, at nat priority. Pure; replaced whole
/// in one transaction with its hook kept (<see cref="NftablesSession.ReplaceTable"/>), so no packet ever sees half a
/// table or none.
/// </summary>
public static class SteeringRenderer
{
    public const string Table = "inet patronus_paths";

    /// <summary>The table's one hooked chain, kept across replacements; mangle is priority -150.</summary>
    internal static readonly IReadOnlyList<KernelChain> BaseChains = [new("prerouting", "filter", "prerouting", -150, "accept")];

    /// <param name="markOf">The mark of a path id; a path with no mark (not steerable) leaves its packets unmarked.</param>
    public static string Render(IReadOnlyList<MemberSteering> members, Func<string, uint?> markOf)
    {
        var sb = new StringBuilder();
        sb.Append($"table {Table} {{\n");
        sb.Append("\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n");
        for (var i = 0; i < members.Count; i++)
        {
            // Chains are numbered, not named after members: a member id never has to be quoted into the script.
            foreach (var (family, keyword) in new[] { (AddressFamily.InterNetwork, "ip"), (AddressFamily.InterNetworkV6, "ip6") })
            {
                var ranges = members[i].Ranges.Where(r => r.BaseAddress.AddressFamily == family).Select(r => r.ToString()).ToArray();
                if (ranges.Length > 0)
                    sb.Append($"\t\t{keyword} daddr {{ {string.Join(", ", ranges)} }} jump member_{i}\n");
            }
        }
        sb.Append("\t}\n");
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            sb.Append($"\tchain member_{i} {{\n");
            if (member.DefaultPathId is { } path && markOf(path) is { } mark)
                sb.Append($"\t\tmeta mark set {Hex(mark)}\n");
            foreach (var (family, keyword) in new[] { (AddressFamily.InterNetwork, "ip"), (AddressFamily.InterNetworkV6, "ip6") })
            {
                var elements = member.PodPaths
                    .Where(p => p.Key.AddressFamily == family && markOf(p.Value) is not null)
                    .OrderBy(p => p.Key.ToString(), StringComparer.Ordinal)
                    .Select(p => $"{p.Key} : {Hex(markOf(p.Value)!.Value)}")
                    .ToArray();
                if (elements.Length > 0)
                    sb.Append($"\t\tmeta mark set {keyword} saddr map {{ {string.Join(", ", elements)} }}\n");
            }
            sb.Append("\t}\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    public static string RenderRemoval() => $"table {Table}\ndelete table {Table}\n";

    private static string Hex(uint mark) => "0x" + mark.ToString("x8", CultureInfo.InvariantCulture);
}
