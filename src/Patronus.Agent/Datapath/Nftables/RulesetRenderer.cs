using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Patronus.Agent.Datapath.Nftables;

// Where the rules hook in, and why (measured on these machines, kernel 6.x):
//
// Pods on one node hang off a Linux bridge, so pod-to-pod traffic is bridged, not routed. Two ways let
// nftables see it: the bridge family, or br_netfilter passing bridged IP packets through the inet hooks.
// The bridge family has no conntrack here (CONFIG_NF_CONNTRACK_BRIDGE is not set), and NetworkPolicy needs
// conntrack for return traffic, so this ruleset is an inet table on the forward hook and relies on
// br_netfilter (built in; net.bridge.bridge-nf-call-iptables/ip6tables=1 per network namespace, which
// Kubernetes requires anyway and NftablesDatapath checks). The same forward hook sees traffic routed
// between nodes, so one chain covers both. Pod-to-node traffic takes the input hook, which gets the
// egress checks; node-to-pod traffic (kubelet probes) is never filtered, as NetworkPolicy intends.
//
// Cost per packet does not grow with the number of policies: established flows leave at the first rule;
// a new flow does one verdict-map lookup per direction keyed by the endpoint address (endpoints nobody
// isolates are absent: open), and an isolated endpoint's chain holds at most four set lookups (peers on
// any port, peer.protocol.port concatenated intervals, per family) before the counted drop.
// Egress chains end an allowed packet with `return`, so it still meets the destination's ingress check.
//
// Reconcile renders the whole table and replaces it in one transaction, in place where it exists, keeping the hooks and
// every endpoint chain, map and counter it declares again (see KernelTable for why); updates touch only the changed
// endpoints' objects, and they too flush a chain rather than make it again.

/// <summary>Renders endpoint rules as nft scripts. Pure: no I/O, pinned by exact-output tests.</summary>
internal static class RulesetRenderer
{
    public const string Family = "inet";
    public const string Table = "patronus";
    public const string Qualified = Family + " " + Table;

    private const string NeighbourDiscovery =
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept";

    /// <summary>The hooked chains of the table: what an existing table must have for its hooks to be kept.</summary>
    public static readonly IReadOnlyList<KernelChain> BaseChains =
    [
        new("forward", "filter", "forward", 0, "accept"),
        new("input", "filter", "input", 0, "accept"),
    ];

    /// <summary>The whole table, replacing whatever is there, as one transaction.</summary>
    /// <param name="carried">Counter values to start from (by counter name), so kernel counters stay monotonic across reconciles
    /// (a counter the kernel already has keeps its own).</param>
    /// <param name="existing">What the kernel's table holds now; null when there is none. A table whose hooked chains are
    /// ours is replaced in place, keeping its hooks and the chains, maps and counters declared again; any other is deleted
    /// and made again.</param>
    public static string RenderFull(IEnumerable<EndpointRules> endpoints, IReadOnlyDictionary<string, (ulong Packets, ulong Bytes)> carried, KernelTable? existing = null)
    {
        var list = endpoints.OrderBy(e => e.Endpoint.Namespace, StringComparer.Ordinal).ThenBy(e => e.Endpoint.Name, StringComparer.Ordinal).ToList();
        var directions = list.SelectMany(e => new[] { e.Ingress, e.Egress }).OfType<DirectionRules>().ToList();
        var maps = Maps(list).ToList();
        var sb = new StringBuilder();
        // Every endpoint chain, map and counter declared below is kept if the kernel has it: an endpoint isolated before
        // and after this reconcile never jumps to a chain with no rules (see KernelTable).
        var kept = new TableObjects(directions.Select(d => d.Chain).ToHashSet(StringComparer.Ordinal),
            maps.Select(m => m.Name).ToHashSet(StringComparer.Ordinal), directions.Select(d => d.Counter.Name).ToHashSet(StringComparer.Ordinal));
        sb.Append(KernelTable.Replacement(Qualified, BaseChains, existing, kept));
        sb.Append($"table {Qualified} {{\n");

        foreach (var counter in directions.Select(d => d.Counter).Distinct().OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            carried.TryGetValue(counter.Name, out var value);
            sb.Append($"\tcounter {counter.Name} {{\n\t\tcomment \"{counter.Comment}\"\n\t\tpackets {value.Packets} bytes {value.Bytes}\n\t}}\n");
        }

        foreach (var direction in directions)
        {
            foreach (var (name, type, elements) in direction.Sets())
                sb.Append($"\tset {name} {{\n\t\ttype {type}\n\t\tflags interval\n\t\telements = {{ {string.Join(", ", elements)} }}\n\t}}\n");
            sb.Append($"\tchain {direction.Chain} {{\n\t\tcomment \"{direction.Comment}\"\n");
            foreach (var rule in ChainRules(direction, IsIngress(direction)))
                sb.Append($"\t\t{rule}\n");
            sb.Append("\t}\n");
        }

        foreach (var (map, type, elements) in maps)
        {
            sb.Append($"\tmap {map} {{\n\t\ttype {type} : verdict\n");
            if (elements.Count > 0)
                sb.Append($"\t\telements = {{ {string.Join(", ", elements)} }}\n");
            sb.Append("\t}\n");
        }

        sb.Append("\tchain forward {\n");
        sb.Append(Hooked(BaseChains[0]));
        sb.Append("\t\tct state established,related accept\n");
        // Neighbour discovery is never tracked by conntrack (state invalid) yet IPv6 needs it between pods.
        sb.Append($"\t\t{NeighbourDiscovery}\n");
        sb.Append("\t\tct state invalid drop\n");
        sb.Append("\t\tip saddr vmap @egress_v4\n");
        sb.Append("\t\tip daddr vmap @ingress_v4\n");
        sb.Append("\t\tip6 saddr vmap @egress_v6\n");
        sb.Append("\t\tip6 daddr vmap @ingress_v6\n");
        sb.Append("\t}\n");
        sb.Append("\tchain input {\n");
        sb.Append(Hooked(BaseChains[1]));
        sb.Append("\t\tct state established,related accept\n");
        sb.Append($"\t\t{NeighbourDiscovery}\n");
        sb.Append("\t\tip saddr vmap @egress_v4\n");
        sb.Append("\t\tip6 saddr vmap @egress_v6\n");
        sb.Append("\t}\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    private static string Hooked(KernelChain chain) =>
        $"\t\ttype {chain.Type} hook {chain.Hook} priority {(chain.Priority == 0 ? "filter" : chain.Priority)}; policy {chain.Policy};\n";

    /// <summary>
    /// One transaction that moves the kernel from <c>Old</c> to <c>New</c> for each listed endpoint (null:
    /// absent), touching nothing else. Map elements go first (so no jump points at a chain being removed)
    /// and are added last (so none points at a chain not yet filled).
    /// </summary>
    public static string RenderUpdate(IEnumerable<(EndpointRules? Old, EndpointRules? New)> changes)
    {
        var list = changes.ToList();
        var removals = new StringBuilder();
        var chains = new StringBuilder();
        var additions = new StringBuilder();
        foreach (var (old, @new) in list)
        {
            foreach (var ingress in new[] { true, false })
            {
                var before = ingress ? old?.Ingress : old?.Egress;
                var after = ingress ? @new?.Ingress : @new?.Egress;
                var oldAddresses = before is null ? [] : old!.Addresses.Select(Normalize).ToHashSet();
                var newAddresses = after is null ? [] : @new!.Addresses.Select(Normalize).ToHashSet();

                foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
                {
                    var map = MapName(ingress, family);
                    var gone = oldAddresses.Where(a => a.AddressFamily == family && !newAddresses.Contains(a)).ToList();
                    if (gone.Count > 0)
                        removals.Append($"delete element {Qualified} {map} {{ {string.Join(", ", gone)} }}\n");
                    var come = newAddresses.Where(a => a.AddressFamily == family && !oldAddresses.Contains(a)).ToList();
                    if (come.Count > 0)
                        additions.Append($"add element {Qualified} {map} {{ {string.Join(", ", come.Select(a => $"{a} : jump {after!.Chain}"))} }}\n");
                }

                RenderChainChange(chains, before, after, ingress);
            }
        }
        return removals.Append(chains).Append(additions).ToString();
    }

    /// <summary>
    /// Above this many removed elements a set is re-created instead of edited: the kernel's pipapo (concatenated
    /// interval) set pays for each removal with work proportional to its size, so removing thousands one by one
    /// took ~400 ms for a 2,000-element set where deleting and re-creating it took ~10 ms (measured here).
    /// </summary>
    public const int ReplaceSetAboveRemovals = 64;

    private static void RenderChainChange(StringBuilder sb, DirectionRules? before, DirectionRules? after, bool ingress)
    {
        if (before is null && after is null)
            return;
        if (after is null)
        {
            sb.Append($"flush chain {Qualified} {before!.Chain}\n");
            sb.Append($"delete chain {Qualified} {before.Chain}\n");
            foreach (var set in before.Sets())
                sb.Append($"delete set {Qualified} {set.Name}\n");
            return;
        }

        // `add counter` leaves an existing counter and its values alone.
        sb.Append($"add counter {Qualified} {after.Counter.Name} {{ comment \"{after.Counter.Comment}\"; }}\n");
        var oldSets = before?.Sets().ToDictionary(s => s.Name) ?? [];
        var newSets = after.Sets().ToList();
        var newRules = ChainRules(after, ingress).ToList();

        // A policy change usually moves a few peers or ports: edit the sets in place and leave the chain alone.
        // The chain is rebuilt only when its rules change (a set kind appears or goes, the attribution changes)
        // or a set is re-created.
        var rebuild = before is null || !ChainRules(before, ingress).SequenceEqual(newRules);
        var edits = new StringBuilder();
        var created = new List<(string Name, string Type, IReadOnlyList<string> Elements)>();
        foreach (var set in newSets)
        {
            if (!oldSets.TryGetValue(set.Name, out var old))
            {
                created.Add(set);
                continue;
            }
            var removed = old.Elements.Except(set.Elements).ToList();
            if (removed.Count > ReplaceSetAboveRemovals)
            {
                rebuild = true;
                created.Add(set);
                continue;
            }
            var added = set.Elements.Except(old.Elements).ToList();
            if (removed.Count > 0)
                edits.Append($"delete element {Qualified} {set.Name} {{ {string.Join(", ", removed)} }}\n");
            if (added.Count > 0)
                edits.Append($"add element {Qualified} {set.Name} {{ {string.Join(", ", added)} }}\n");
        }

        if (!rebuild)
        {
            sb.Append(edits);
            return;
        }
        if (before is null)
            sb.Append($"add chain {Qualified} {after.Chain} {{ comment \"{after.Comment}\"; }}\n");
        else
            sb.Append($"flush chain {Qualified} {after.Chain}\n");
        // A set is deleted once no rule refers to it (the flush above); one re-created under the same name is
        // deleted and added in this same transaction.
        foreach (var name in oldSets.Keys.Where(n => newSets.All(s => s.Name != n) || created.Any(c => c.Name == n)))
            sb.Append($"delete set {Qualified} {name}\n");
        foreach (var (name, type, elements) in created)
        {
            sb.Append($"add set {Qualified} {name} {{ type {type}; flags interval; }}\n");
            sb.Append($"add element {Qualified} {name} {{ {string.Join(", ", elements)} }}\n");
        }
        sb.Append(edits);
        foreach (var rule in newRules)
            sb.Append($"add rule {Qualified} {after.Chain} {rule}\n");
    }

    private static IEnumerable<string> ChainRules(DirectionRules rules, bool ingress)
    {
        if (rules.AllowAll)
        {
            yield return "return";
            yield break;
        }
        // For ingress the peer is the source; for egress, the destination.
        var peer = ingress ? "saddr" : "daddr";
        if (rules.Peers4.Count > 0)
            yield return $"ip {peer} @{rules.Peers4Set} return";
        if (rules.Ports4.Count > 0)
            yield return $"ip {peer} . meta l4proto . th dport @{rules.Ports4Set} return";
        if (rules.Peers6.Count > 0)
            yield return $"ip6 {peer} @{rules.Peers6Set} return";
        if (rules.Ports6.Count > 0)
            yield return $"ip6 {peer} . meta l4proto . th dport @{rules.Ports6Set} return";
        yield return $"counter name \"{rules.Counter.Name}\" drop";
    }

    private static IEnumerable<(string Name, string Type, List<string> Elements)> Maps(List<EndpointRules> endpoints)
    {
        foreach (var ingress in new[] { true, false })
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                var elements = new List<string>();
                foreach (var endpoint in endpoints)
                {
                    var rules = ingress ? endpoint.Ingress : endpoint.Egress;
                    if (rules is null)
                        continue;
                    foreach (var address in endpoint.Addresses.Select(Normalize).Where(a => a.AddressFamily == family))
                        elements.Add($"{address} : jump {rules.Chain}");
                }
                yield return (MapName(ingress, family), family == AddressFamily.InterNetwork ? "ipv4_addr" : "ipv6_addr", elements);
            }
    }

    private static bool IsIngress(DirectionRules rules) => rules.Counter.Direction == "ingress";

    private static string MapName(bool ingress, AddressFamily family) =>
        (ingress ? "ingress" : "egress") + (family == AddressFamily.InterNetwork ? "_v4" : "_v6");

    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
