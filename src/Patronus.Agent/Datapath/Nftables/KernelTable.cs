using System.Text;
using System.Text.Json;

namespace Patronus.Agent.Datapath.Nftables;

// Every table the agent owns (policy, masquerade, tunnel clamping, path steering) is replaced whole in one transaction,
// so the kernel swaps generations at commit and a packet sees the old rules or the new ones. Where the table exists it
// is replaced in place: every rule flushed, every object but the hooked (base) chains deleted and declared again, the
// base chains kept. Deleting the table instead would unregister its hooks and register new ones, and a packet that
// took the hook list before the new hooks came and met the old chain after the commit had emptied it went through
// untouched: seen once as a denied UDP datagram delivered during repeated policy reconciles on a loaded machine; for
// steering it is a packet sent down the wrong path at a failover, for masquerade a connection leaving with a pod's
// address. A table whose hooked chains are not the expected ones (another priority or policy, left by another version)
// cannot keep them and is deleted and made again.

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
    /// is null) and making it again. Pure.
    /// </summary>
    public static string Replacement(string qualified, IReadOnlyList<KernelChain> baseChains, KernelTable? existing)
    {
        var sb = new StringBuilder();
        if (existing is not null && existing.Chains.Where(c => c.Hook is not null || baseChains.Any(b => b.Name == c.Name)).All(baseChains.Contains))
        {
            // Rules first: nothing then refers to a set, counter or chain but a map's jumps, so maps go before chains.
            sb.Append($"flush table {qualified}\n");
            foreach (var map in existing.Maps)
                sb.Append($"delete map {qualified} {map}\n");
            foreach (var chain in existing.Chains.Where(c => c.Hook is null))
                sb.Append($"delete chain {qualified} {chain.Name}\n");
            foreach (var set in existing.Sets)
                sb.Append($"delete set {qualified} {set}\n");
            foreach (var counter in existing.Counters)
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
