using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Datapath.Nftables;

namespace Patronus.Agent.Routes;

/// <summary>
/// Source NAT for pod traffic that leaves the cluster set, as an nft script for libnftables. Pure.
/// <para>
/// It is a table of its own, <c>inet patronus_nat</c>, beside the policy table <c>inet patronus</c>: the policy
/// datapath replaces its whole table in one transaction on every reconcile, and masquerade has another owner
/// and another rhythm (Nodes, not NetworkPolicies).
/// </para>
/// </summary>
public static class MasqueradeRenderer
{
    public const string Table = "inet patronus_nat";

    /// <summary>The table's one hooked chain, kept across replacements (see <see cref="Datapath.Nftables.KernelTable"/>).</summary>
    internal static readonly IReadOnlyList<KernelChain> BaseChains = [new("postrouting", "nat", "postrouting", 100, "accept")];

    /// <summary>The table's declaration; <see cref="NftablesSession.ReplaceTable"/> puts it in place of the kernel's.</summary>
    /// <param name="localPods">This node's pod ranges: only their traffic is masqueraded.</param>
    /// <param name="neverMasqueraded">Destinations that keep the pod's address: every node's pod range, the cluster and service ranges, remote clusters', and the operator's list.</param>
    public static string Render(IEnumerable<IPNetwork> localPods, IEnumerable<IPNetwork> neverMasqueraded)
    {
        var sources = localPods.Distinct().ToList();
        var kept = neverMasqueraded.Distinct().ToList();
        var sb = new StringBuilder();
        sb.Append($"table {Table} {{\n");
        foreach (var (suffix, type, family) in Families)
        {
            Set(sb, $"local_pods_{suffix}", type, sources.Where(c => c.BaseAddress.AddressFamily == family));
            Set(sb, $"no_masquerade_{suffix}", type, kept.Where(c => c.BaseAddress.AddressFamily == family));
        }
        sb.Append("\tchain postrouting {\n");
        sb.Append("\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        sb.Append("\t\tip saddr @local_pods_v4 ip daddr != @no_masquerade_v4 masquerade\n");
        sb.Append("\t\tip6 saddr @local_pods_v6 ip6 daddr != @no_masquerade_v6 masquerade\n");
        sb.Append("\t}\n}\n");
        return sb.ToString();
    }

    /// <summary>Removes the table (uninstall, or masquerade turned off).</summary>
    public static string RenderRemoval() => $"table {Table}\ndelete table {Table}\n";

    private static readonly (string Suffix, string Type, AddressFamily Family)[] Families =
    [
        ("v4", "ipv4_addr", AddressFamily.InterNetwork),
        ("v6", "ipv6_addr", AddressFamily.InterNetworkV6),
    ];

    private static void Set(StringBuilder sb, string name, string type, IEnumerable<IPNetwork> elements)
    {
        var list = elements.OrderBy(c => c.BaseAddress.GetAddressBytes(), ByteOrder.Instance).ThenBy(c => c.PrefixLength).ToList();
        sb.Append($"\tset {name} {{\n\t\ttype {type}\n\t\tflags interval\n");
        // auto-merge: overlapping ranges (a node's pod range inside the cluster range) are one interval.
        sb.Append("\t\tauto-merge\n");
        if (list.Count > 0)
            sb.Append($"\t\telements = {{ {string.Join(", ", list)} }}\n");
        sb.Append("\t}\n");
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
