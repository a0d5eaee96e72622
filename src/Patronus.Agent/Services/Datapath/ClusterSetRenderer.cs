using System.Text;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.Datapath;

// How a ClusterSetIP reaches its backends (one inet table of its own, beside the policy table):
//
// New connections to VIP:port are matched in the nat hooks (prerouting for pods' traffic, output for the node's own) by
// one verdict-map lookup on daddr . l4proto . dport, which jumps to the VIP's chain. That chain picks a backend with
// `numgen random mod N` and DNATs to it; conntrack remembers the translation, so every later packet of the connection
// goes to the same backend without meeting these rules again, and replies are translated back on their way to the client.
// With ClientIP session affinity (Kubernetes' sessionAffinity), each backend has a dynamic set of the clients it served,
// refreshed with `update` on every new connection and expiring after the affinity timeout; the VIP's chain first sends a
// client found in a backend's set back to that backend, then load-balances the others (kube-proxy's nftables mode does
// the same). A VIP:port with no backend at all is rejected in the filter hooks, so clients fail fast instead of waiting.
//
// Every change is one transaction: the table's rules and the VIP maps are flushed and rendered again, chains and sets
// that are no longer wanted are deleted, and those that stay keep their names and the affinity sets their clients. The
// kernel swaps generations at commit, so withdrawing a cluster's endpoints is atomic: a new connection sees the old
// backends or the new ones, never none. The first render of an agent replaces the whole table, keeping its hooks (see
// KernelTable).

/// <summary>Renders ClusterSetIP VIPs as nft scripts. Pure: no I/O, pinned by exact-output tests.</summary>
internal static class ClusterSetRenderer
{
    public const string Family = "inet";
    public const string Table = "patronus-clusterset";
    private const string Qualified = Family + " " + Table;

    /// <summary>The table's hooked chains, kept whenever the table is replaced whole.</summary>
    public static readonly IReadOnlyList<KernelChain> BaseChains =
    [
        new("prerouting", "nat", "prerouting", -100, "accept"),
        new("output", "nat", "output", -100, "accept"),
        new("reject-input", "filter", "input", -1, "accept"),
        new("reject-forward", "filter", "forward", -1, "accept"),
        new("reject-output", "filter", "output", -1, "accept"),
    ];

    /// <summary>
    /// The script that takes the table from <paramref name="previous"/> (what the last successful transaction installed;
    /// null when unknown, as after a restart: then the table is replaced whole, over <paramref name="existing"/>, what
    /// the kernel holds) to <paramref name="vips"/>.
    /// </summary>
    public static string Render(IReadOnlyCollection<ClusterSetVip> vips, IReadOnlyCollection<ClusterSetVip>? previous, KernelTable? existing = null)
    {
        var ordered = vips.OrderBy(v => v.Address.AddressFamily).ThenBy(v => v.Address.ToString(), StringComparer.Ordinal)
            .ThenBy(v => v.Protocol, StringComparer.Ordinal).ThenBy(v => v.Port).ToList();
        if (ordered.Select(v => v.Id).Distinct().Count() != ordered.Count)
            throw new ArgumentException("two VIP entries for one address, protocol and port", nameof(vips));
        var sb = new StringBuilder();
        if (previous is null)
        {
            sb.Append(KernelTable.Replacement(Qualified, BaseChains, existing));
        }
        else
        {
            sb.Append($"table {Qualified}\n");
            sb.Append($"flush table {Qualified}\n");
        }

        sb.Append($"table {Qualified} {{\n");
        sb.Append("\tmap vips4 {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}\n");
        sb.Append("\tmap vips6 {\n\t\ttype ipv6_addr . inet_proto . inet_service : verdict\n\t}\n");
        sb.Append("\tset empty4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t}\n");
        sb.Append("\tset empty6 {\n\t\ttype ipv6_addr . inet_proto . inet_service\n\t}\n");
        // nft knows the dstnat priority keyword (-100) only on prerouting; output takes the number.
        foreach (var (hook, priority) in new[] { ("prerouting", "dstnat"), ("output", "-100") })
        {
            sb.Append($"\tchain {hook} {{\n\t\ttype nat hook {hook} priority {priority}; policy accept;\n");
            sb.Append("\t\tip daddr . meta l4proto . th dport vmap @vips4\n");
            sb.Append("\t\tip6 daddr . meta l4proto . th dport vmap @vips6\n\t}\n");
        }
        foreach (var hook in new[] { "input", "forward", "output" })
        {
            // Named apart from the nat output chain: one chain per hook and type.
            sb.Append($"\tchain reject-{hook} {{\n\t\ttype filter hook {hook} priority filter - 1; policy accept;\n");
            sb.Append("\t\tip daddr . meta l4proto . th dport @empty4 reject\n");
            sb.Append("\t\tip6 daddr . meta l4proto . th dport @empty6 reject\n\t}\n");
        }
        foreach (var vip in ordered.Where(v => v.Backends.Count > 0))
        {
            foreach (var backend in vip.Backends)
            {
                if (vip.SessionAffinity == SessionAffinity.ClientIP)
                    sb.Append($"\tset {AffinitySet(vip, backend)} {{\n\t\ttype {(vip.IsIPv6 ? "ipv6_addr" : "ipv4_addr")}\n\t\tflags dynamic,timeout\n\t\ttimeout {vip.AffinityTimeoutSeconds}s\n\t}}\n");
                sb.Append($"\tchain {BackendChain(vip, backend)} {{\n");
                sb.Append($"\t\tcomment \"{vip.Service} {backend}\"\n");
                if (vip.SessionAffinity == SessionAffinity.ClientIP)
                    sb.Append($"\t\tupdate @{AffinitySet(vip, backend)} {{ {Saddr(vip)} }}\n");
                var target = vip.IsIPv6 ? $"[{backend.Address}]:{backend.Port}" : $"{backend.Address}:{backend.Port}";
                sb.Append($"\t\tmeta l4proto {Proto(vip)} dnat {(vip.IsIPv6 ? "ip6" : "ip")} to {target}\n\t}}\n");
            }
            sb.Append($"\tchain {VipChain(vip)} {{\n\t\tcomment \"{vip.Service} {(vip.IsIPv6 ? $"[{vip.Address}]" : vip.Address)}:{vip.Port}/{vip.Protocol}\"\n");
            if (vip.SessionAffinity == SessionAffinity.ClientIP)
            {
                foreach (var backend in vip.Backends)
                    sb.Append($"\t\t{Saddr(vip)} @{AffinitySet(vip, backend)} goto {BackendChain(vip, backend)}\n");
            }
            if (vip.Backends.Count == 1)
                sb.Append($"\t\tgoto {BackendChain(vip, vip.Backends[0])}\n");
            else
                sb.Append($"\t\tnumgen random mod {vip.Backends.Count} vmap {{ {string.Join(", ", vip.Backends.Select((b, i) => $"{i} : goto {BackendChain(vip, b)}"))} }}\n");
            sb.Append("\t}\n");
        }
        sb.Append("}\n");
        if (previous is not null)
        {
            // flush table empties chains, not maps: their elements would keep the chains about to be deleted busy.
            foreach (var map in new[] { "map vips4", "map vips6", "set empty4", "set empty6" })
                sb.Append($"flush {map.Split(' ')[0]} {Qualified} {map.Split(' ')[1]}\n");
        }

        foreach (var vip in ordered)
        {
            var key = $"{vip.Address} . {Proto(vip)} . {vip.Port}";
            var family = vip.IsIPv6 ? "6" : "4";
            if (vip.Backends.Count > 0)
                sb.Append($"add element {Qualified} vips{family} {{ {key} : goto {VipChain(vip)} }}\n");
            else
                sb.Append($"add element {Qualified} empty{family} {{ {key} }}\n");
        }

        if (previous is not null)
        {
            // Flushed above, so nothing refers to them any more: what is gone can be deleted in the same transaction.
            var wantedChains = ordered.Where(v => v.Backends.Count > 0).SelectMany(v => v.Backends.Select(b => BackendChain(v, b)).Append(VipChain(v))).ToHashSet();
            var wantedSets = ordered.Where(v => v.SessionAffinity == SessionAffinity.ClientIP).SelectMany(v => v.Backends.Select(b => AffinitySet(v, b))).ToHashSet();
            var oldChains = previous.Where(v => v.Backends.Count > 0).SelectMany(v => v.Backends.Select(b => BackendChain(v, b)).Append(VipChain(v))).Distinct();
            var oldSets = previous.Where(v => v.SessionAffinity == SessionAffinity.ClientIP).SelectMany(v => v.Backends.Select(b => AffinitySet(v, b))).Distinct();
            foreach (var chain in oldChains.Where(c => !wantedChains.Contains(c)).Order(StringComparer.Ordinal))
                sb.Append($"delete chain {Qualified} {chain}\n");
            foreach (var set in oldSets.Where(s => !wantedSets.Contains(s)).Order(StringComparer.Ordinal))
                sb.Append($"delete set {Qualified} {set}\n");
        }
        return sb.ToString();
    }

    private static string Proto(ClusterSetVip vip) => vip.Protocol.ToLowerInvariant();

    private static string Saddr(ClusterSetVip vip) => vip.IsIPv6 ? "ip6 saddr" : "ip saddr";

    internal static string VipChain(ClusterSetVip vip) => $"vip-{vip.Id}";

    internal static string BackendChain(ClusterSetVip vip, VipBackend backend) => $"be-{vip.Id}-{ClusterSetVip.Hash($"{backend.Address}|{backend.Port}")}";

    /// <summary>Named by the backend and the timeout: a changed timeout makes a new set (a set's timeout cannot be changed in place).</summary>
    internal static string AffinitySet(ClusterSetVip vip, VipBackend backend) =>
        $"aff-{vip.Id}-{ClusterSetVip.Hash($"{backend.Address}|{backend.Port}|{vip.AffinityTimeoutSeconds}")}";
}
