using System.Text;
using System.Text.Json;

namespace Patronus.Agent.Datapath.Nftables;

// Every table the agent owns (policy, masquerade, tunnel clamping, path steering) is replaced whole in one transaction,
// so the kernel swaps generations at commit. Where the table exists it is replaced in place: every rule flushed, the
// base chains kept, every other object deleted and declared again, or, for the objects a caller names as declared
// again (see TableObjects), kept. Deleting the table instead would unregister its hooks and register new ones, and a
// packet that took the hook list before the new hooks came and met the old chain after the commit had emptied it went
// through untouched: seen once as a denied UDP datagram delivered during repeated policy reconciles on a loaded machine;
// for steering it is a packet sent down the wrong path at a failover, for masquerade a connection leaving with a pod's
// address. A table whose hooked chains are not the expected ones (another priority or policy, left by another version)
// cannot keep them and is deleted and made again.
//
// Keeping the hooks is not the whole story. A packet reads the generation once for its walk through the rules, but every
// set and map lookup reads it again, so a packet walking while a transaction commits can run the old generation's rules
// against the new generation's elements. An object deleted and declared again in that transaction is a new object. A map
// made again leaves the old rules looking into the old map, whose elements are gone in the new generation: no jump, and
// the packet runs past to the hook's accept. A regular chain made again has no rules in the old generation, so the new
// map element's jump to it returns at once, past the drop at its end. Either way a datapath that isolates an endpoint
// before and after the transaction lets a packet through: the same denied datagram, seen again in CI with the hooks
// kept. So a caller names the chains, maps and counters it declares again, and those are kept: a chain's rules are
// flushed (each generation keeps its own), a map's elements are flushed (the declaration adds them again; a lookup finds
// either generation's element, both jumping to the same kept chain), a counter keeps its object and its values. Sets are
// still deleted and made again (flushing a large concatenated-interval set costs far more than deleting it): a mixed
// walk's lookup into the old set finds its old elements or nothing, so a rule that admits through a set admits what the
// old rules did or less. Measured in throwaway namespaces with a UDP flood from a denied sender through a router whose
// table was replaced 300 times: 4-7 datagrams delivered when the map or the chain was made again, none in 1,000 with
// both kept.

/// <summary>A chain of a table as the kernel lists it; the hook's fields are null for a regular chain.</summary>
internal sealed record KernelChain(string Name, string? Type = null, string? Hook = null, int? Priority = null, string? Policy = null);

/// <summary>A named counter as the kernel lists it.</summary>
internal sealed record KernelCounter(string Name, string Comment, ulong Packets, ulong Bytes)
{
    /// <summary>A `counter` object of libnftables-json(5).</summary>
    public static KernelCounter From(JsonElement counter) => new(
        counter.GetProperty("name").GetString() ?? "",
        counter.TryGetProperty("comment", out var comment) ? comment.GetString() ?? "" : "",
        counter.GetProperty("packets").GetUInt64(),
        counter.GetProperty("bytes").GetUInt64());
}

/// <summary>
/// The regular chains, maps and counters a table's declaration declares again: replaced in place, they are kept, emptied
/// of rules and elements, rather than deleted and made again (see above).
/// </summary>
internal sealed record TableObjects(IReadOnlySet<string> Chains, IReadOnlySet<string> Maps, IReadOnlySet<string> Counters);

/// <summary>The named objects of a table in the kernel (anonymous sets belong to their rules and are not listed).</summary>
internal sealed record KernelTable(IReadOnlyList<KernelChain> Chains, IReadOnlyList<string> Sets, IReadOnlyList<string> Maps, IReadOnlyList<KernelCounter> Counters)
{
    /// <summary>A table from the output of <c>list table</c> in libnftables-json(5).</summary>
    public static KernelTable Parse(string listTableJson)
    {
        using var json = JsonDocument.Parse(listTableJson);
        var chains = new List<KernelChain>();
        List<string> sets = [], maps = [];
        var counters = new List<KernelCounter>();
        foreach (var item in json.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out var chain))
            {
                chains.Add(new KernelChain(chain.GetProperty("name").GetString() ?? "",
                    chain.TryGetProperty("type", out var type) ? type.GetString() : null,
                    chain.TryGetProperty("hook", out var hook) ? hook.GetString() : null,
                    chain.TryGetProperty("prio", out var prio) ? prio.GetInt32() : null,
                    chain.TryGetProperty("policy", out var policy) ? policy.GetString() : null));
            }
            else if (item.TryGetProperty("set", out var set))
            {
                sets.Add(set.GetProperty("name").GetString() ?? "");
            }
            else if (item.TryGetProperty("map", out var map))
            {
                maps.Add(map.GetProperty("name").GetString() ?? "");
            }
            else if (item.TryGetProperty("counter", out var counter))
            {
                counters.Add(KernelCounter.From(counter));
            }
        }
        return new KernelTable(chains, sets, maps, counters);
    }

    /// <summary>
    /// The opening of the one-transaction script that replaces <paramref name="qualified"/> (<c>family name</c>) with
    /// the declaration that follows it: in place when <paramref name="existing"/>'s hooked chains are exactly
    /// <paramref name="baseChains"/>, otherwise by deleting whatever is there (nothing, when <paramref name="existing"/>
    /// is null) and making it again. In place, the objects named in <paramref name="kept"/> are emptied and kept. Pure.
    /// </summary>
    public static string Replacement(string qualified, IReadOnlyList<KernelChain> baseChains, KernelTable? existing, TableObjects? kept = null)
    {
        var sb = new StringBuilder();
        if (existing is not null && existing.Chains.Where(c => c.Hook is not null || baseChains.Any(b => b.Name == c.Name)).All(baseChains.Contains))
        {
            // Rules first: nothing then refers to a set, counter or chain but a map's jumps, so maps go before chains.
            sb.Append($"flush table {qualified}\n");
            foreach (var map in existing.Maps)
                sb.Append(kept?.Maps.Contains(map) == true ? $"flush map {qualified} {map}\n" : $"delete map {qualified} {map}\n");
            foreach (var chain in existing.Chains.Where(c => c.Hook is null && kept?.Chains.Contains(c.Name) != true))
                sb.Append($"delete chain {qualified} {chain.Name}\n");
            foreach (var set in existing.Sets)
                sb.Append($"delete set {qualified} {set}\n");
            foreach (var counter in existing.Counters.Where(c => kept?.Counters.Contains(c.Name) != true))
                sb.Append($"delete counter {qualified} {counter.Name}\n");
        }
        else
        {
            sb.Append($"table {qualified}\n");
            sb.Append($"delete table {qualified}\n");
        }
        return sb.ToString();
    }
}
