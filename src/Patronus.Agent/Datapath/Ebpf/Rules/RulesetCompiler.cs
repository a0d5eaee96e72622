using System.Net.Sockets;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Ebpf.Rules;

/// <summary>
/// Turns a direction's rules (the disjoint form the nftables datapath also starts from, see
/// <see cref="EndpointRules"/>) into LPM trie entries whose lookup cost does not depend on the number of rules:
/// the address space is cut into regions that admit the same ports, each region becomes a few prefixes
/// pointing at a port class, and each class's port ranges become prefixes of the 16-bit port space.
/// A packet then costs one lookup on its peer and at most one on its port. Pure; tested against
/// <see cref="DirectionPolicy.Allows"/>.
/// </summary>
internal static class RulesetCompiler
{
    public static CompiledRuleset Compile(DirectionRules rules) => Compile(rules, new PortClasses())!;

    /// <summary>
    /// Compiles with the port class numbers of <paramref name="classes"/>: a port set seen before keeps its
    /// number, so recompiling after a small change yields mostly the same entries (and an in-place edit of the
    /// rule set touches only those that differ). Null when the rule set has run out of class numbers.
    /// </summary>
    public static CompiledRuleset? Compile(DirectionRules rules, PortClasses classes)
    {
        if (rules.AllowAll)
            return new CompiledRuleset(
                [new PeerEntry(AddressFamily.InterNetwork, 0, 0, 0, true), new PeerEntry(AddressFamily.InterNetworkV6, 0, 0, 0, true)],
                []);
        var peers = new List<PeerEntry>();
        var ports = new List<PortEntry>();
        var used = new HashSet<string>();
        try
        {
            AddFamily(AddressFamily.InterNetwork, rules.Peers4, rules.Ports4, peers, ports, classes, used);
            AddFamily(AddressFamily.InterNetworkV6, rules.Peers6, rules.Ports6, peers, ports, classes, used);
        }
        catch (PortClassesExhaustedException)
        {
            return null;
        }
        classes.KeepOnly(used);
        return new CompiledRuleset(peers, ports);
    }

    private static void AddFamily(
        AddressFamily family,
        IReadOnlyList<AddressInterval> anyPort,
        IReadOnlyList<PortBox> boxes,
        List<PeerEntry> peers,
        List<PortEntry> ports,
        PortClasses classes,
        HashSet<string> used)
    {
        var bits = family == AddressFamily.InterNetwork ? 32 : 128;
        var max = family == AddressFamily.InterNetwork ? (UInt128)uint.MaxValue : UInt128.MaxValue;

        // Sweep the address axis: intervals open at First and close after Last (never past the end of the space).
        // Index -1 stands for "admitted on every port".
        var opens = new List<(UInt128 At, int Index)>();
        var closes = new List<(UInt128 At, int Index)>();
        foreach (var interval in anyPort)
            Add(interval.First, interval.Last, -1);
        for (var i = 0; i < boxes.Count; i++)
            Add(boxes[i].Peer.First, boxes[i].Peer.Last, i);
        if (opens.Count == 0)
            return;

        var cuts = opens.Select(o => o.At).Concat(closes.Select(c => c.At)).Distinct().Order().ToList();
        var opensAt = opens.ToLookup(o => o.At, o => o.Index);
        var closesAt = closes.ToLookup(c => c.At, c => c.Index);
        var active = new Dictionary<int, int>();
        // A region admits a class (0 with anyPort) from First to Last; adjacent regions with the same admission are joined.
        (UInt128 First, UInt128 Last, ushort Class, bool AnyPort)? pending = null;
        for (var c = 0; c < cuts.Count; c++)
        {
            var first = cuts[c];
            foreach (var index in closesAt[first])
                if (--active[index] == 0)
                    active.Remove(index);
            foreach (var index in opensAt[first])
                active[index] = active.GetValueOrDefault(index) + 1;
            var last = c + 1 < cuts.Count ? cuts[c + 1] - 1 : max;

            (ushort Class, bool AnyPort)? admission = null;
            if (active.ContainsKey(-1))
                admission = (0, true);
            else if (active.Count > 0)
                admission = (ClassOf(active.Keys.Select(i => boxes[i]), ports, classes, used), false);

            if (pending is { } p && admission is { } a && p.Last + 1 == first && p.Class == a.Class && p.AnyPort == a.AnyPort)
            {
                pending = p with { Last = last };
                continue;
            }
            Flush();
            if (admission is { } admitted)
                pending = (first, last, admitted.Class, admitted.AnyPort);
        }
        Flush();

        void Add(UInt128 first, UInt128 last, int index)
        {
            opens.Add((first, index));
            if (last != max)
                closes.Add((last + 1, index));
        }

        void Flush()
        {
            if (pending is not { } region)
                return;
            foreach (var (start, length) in Prefixes(region.First, region.Last, bits))
                peers.Add(new PeerEntry(family, start, length, region.Class, region.AnyPort));
            pending = null;
        }
    }

    /// <summary>The class admitting exactly these boxes' ports, with its port entries the first time this compile uses it.</summary>
    private static ushort ClassOf(IEnumerable<PortBox> active, List<PortEntry> ports, PortClasses classes, HashSet<string> used)
    {
        var ranges = active
            .GroupBy(b => b.Protocol)
            .OrderBy(g => g.Key)
            .SelectMany(g => MergePorts(g.Select(b => (b.FirstPort, b.LastPort))).Select(r => (Protocol: g.Key, r.First, r.Last)))
            .ToList();
        var signature = string.Join(';', ranges.Select(r => $"{(int)r.Protocol}:{r.First}-{r.Last}"));
        var id = classes.NumberOf(signature);
        if (used.Add(signature))
            foreach (var (protocol, first, last) in ranges)
                foreach (var (start, length) in Prefixes((UInt128)first, (UInt128)last, 16))
                    ports.Add(new PortEntry(id, protocol, (int)start, length));
        return id;
    }

    private static List<(int First, int Last)> MergePorts(IEnumerable<(int First, int Last)> ranges)
    {
        var merged = new List<(int First, int Last)>();
        foreach (var range in ranges.OrderBy(r => r.First))
        {
            if (merged.Count > 0 && range.First <= merged[^1].Last + 1)
            {
                if (range.Last > merged[^1].Last)
                    merged[^1] = (merged[^1].First, range.Last);
                continue;
            }
            merged.Add(range);
        }
        return merged;
    }

    /// <summary>The fewest prefixes covering exactly [first, last] in a space of <paramref name="bits"/> bits.</summary>
    public static IEnumerable<(UInt128 Start, int Length)> Prefixes(UInt128 first, UInt128 last, int bits)
    {
        while (true)
        {
            // The largest aligned block starting at first that does not run past last.
            var size = 0;
            while (size < bits)
            {
                var next = size + 1;
                var mask = next == 128 ? UInt128.MaxValue : (UInt128.One << next) - 1;
                if ((first & mask) != 0 || (first | mask) > last)
                    break;
                size = next;
            }
            var blockLast = size == 0 ? first : first | (size == 128 ? UInt128.MaxValue : (UInt128.One << size) - 1);
            yield return (first, bits - size);
            if (blockLast >= last)
                yield break;
            first = blockLast + 1;
        }
    }
}

/// <summary>
/// The port class numbers of one rule set: a port set keeps its number for as long as the rule set uses it,
/// and a number is never given to another port set, so a class's entries never change while a peer entry
/// can point at them. 0 is not used (it stands for "any port").
/// </summary>
internal sealed class PortClasses
{
    private readonly Dictionary<string, ushort> _numbers = [];
    private int _next = 1;

    public PortClasses Copy()
    {
        var copy = new PortClasses { _next = _next };
        foreach (var (signature, number) in _numbers)
            copy._numbers[signature] = number;
        return copy;
    }

    public ushort NumberOf(string signature)
    {
        if (_numbers.TryGetValue(signature, out var number))
            return number;
        if (_next > ushort.MaxValue)
            throw new PortClassesExhaustedException();
        number = (ushort)_next++;
        _numbers[signature] = number;
        return number;
    }

    public void KeepOnly(HashSet<string> used)
    {
        foreach (var signature in _numbers.Keys.Where(s => !used.Contains(s)).ToList())
            _numbers.Remove(signature);
    }
}

internal sealed class PortClassesExhaustedException : Exception;
