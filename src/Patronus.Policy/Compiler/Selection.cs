using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Compiler;

internal enum PeerKind
{
    /// <summary>podSelector alone: pods in the policy's namespace.</summary>
    Local,

    /// <summary>namespaceSelector, with or without podSelector.</summary>
    Namespaced,

    /// <summary>ipBlock.</summary>
    Block,

    /// <summary>A rule without from/to.</summary>
    All,
}

/// <summary>
/// The pods one kind of peer matches, shared by every peer that selects the same way: real clusters repeat
/// the same peers in every namespace (allow from monitoring, from kube-system, from everywhere), so each
/// distinct selection is evaluated and materialized once, not once per policy.
/// </summary>
internal sealed class Selection
{
    private CidrMatch[]? cidrs;
    private Dictionary<string, NamedPortGroup[]>? expansions;

    public Selection(string key, PeerKind kind, string policyNamespace, PolicyPeer? model)
    {
        Key = key;
        Kind = kind;
        Namespace = kind == PeerKind.Local ? policyNamespace : null;
        PodSelector = model?.PodSelector;
        NamespaceSelector = model?.NamespaceSelector;
        if (model?.IpBlock is { } block)
            Block = new CidrMatch(block.Cidr, block.Except);
    }

    public string Key { get; }

    public PeerKind Kind { get; }

    /// <summary>For a local selection, the namespace of the policies that share it.</summary>
    public string? Namespace { get; }

    public LabelSelector? PodSelector { get; }

    public LabelSelector? NamespaceSelector { get; }

    public CidrMatch? Block { get; }

    /// <summary>For namespaced selections: the namespaces whose labels match the namespace selector.</summary>
    public HashSet<string> MatchingNamespaces { get; } = [];

    public Dictionary<EndpointId, PodEntry> Matched { get; } = [];

    /// <summary>The peers (of any policy) that use this selection.</summary>
    public HashSet<PeerState> Users { get; } = [];

    public bool NeedsPorts => Users.Any(u => u.Rule.IsEgress && u.Rule.HasNamedPorts);

    public bool Matches(Pod pod) => Kind switch
    {
        PeerKind.Local => pod.Namespace == Namespace && PodSelector!.Matches(pod.Labels),
        PeerKind.Namespaced => MatchingNamespaces.Contains(pod.Namespace) && (PodSelector?.Matches(pod.Labels) ?? true),
        PeerKind.Block => pod.Addresses.Any(Block!.Contains),
        _ => true,
    };

    public void Invalidate()
    {
        cidrs = null;
        expansions = null;
    }

    /// <summary>The host matches of every matched pod's addresses.</summary>
    public CidrMatch[] Cidrs()
    {
        if (cidrs is not null)
            return cidrs;
        var list = new List<CidrMatch>(Matched.Count);
        foreach (var entry in Matched.Values)
            list.AddRange(entry.Cidrs);
        return cidrs = list.ToArray();
    }

    /// <summary>
    /// Egress named ports name the destination pod's container ports, so they expand per destination:
    /// matched pods are grouped by the ports the names resolve to. An ipBlock selection keeps only the
    /// addresses inside the block.
    /// </summary>
    public NamedPortGroup[] Expand(PolicyPort[] named, string namedKey)
    {
        expansions ??= [];
        if (expansions.TryGetValue(namedKey, out var cached))
            return cached;
        var groups = new Dictionary<PortSet, List<CidrMatch>>();
        var resolved = new List<PortMatch>();
        foreach (var entry in Matched.Values)
        {
            resolved.Clear();
            NamedPorts.Resolve(named, entry.Pod, resolved);
            if (resolved.Count == 0)
                continue;
            var key = new PortSet(resolved.ToArray());
            if (!groups.TryGetValue(key, out var group))
                groups[key] = group = [];
            foreach (var cidr in entry.Cidrs)
                if (Block is null || Block.Contains(cidr.Network.BaseAddress))
                    group.Add(cidr);
        }
        return expansions[namedKey] = groups.Select(g => new NamedPortGroup(g.Key.Ports, g.Value.ToArray())).ToArray();
    }

    /// <summary>A canonical text for a peer, equal for peers that select exactly the same pods.</summary>
    public static string KeyOf(PeerKind kind, string policyNamespace, PolicyPeer? peer) => kind switch
    {
        PeerKind.Local => $"L\u0001{policyNamespace}\u0001{SelectorKey(peer!.PodSelector)}",
        PeerKind.Namespaced => $"N\u0001{SelectorKey(peer!.NamespaceSelector)}\u0001{SelectorKey(peer.PodSelector)}",
        PeerKind.Block => $"B\u0001{peer!.IpBlock!.Cidr}\u0001{string.Join(',', peer.IpBlock.Except.Select(e => e.ToString()).Order(StringComparer.Ordinal))}",
        _ => "A",
    };

    private static string SelectorKey(LabelSelector? selector)
    {
        if (selector is null)
            return "-";
        var labels = selector.MatchLabels.Select(l => $"{l.Key}={l.Value}");
        var expressions = selector.MatchExpressions.Select(e => $"{e.Key} {e.Operator} {string.Join(',', e.Values.Order(StringComparer.Ordinal))}");
        return string.Join('\u0002', labels.Concat(expressions).Order(StringComparer.Ordinal));
    }
}

/// <summary>Destinations of an egress named-port rule whose names resolve to the same ports.</summary>
internal sealed record NamedPortGroup(PortMatch[] Ports, CidrMatch[] Cidrs);

/// <summary>A list of resolved ports with value equality, to group and cache by.</summary>
internal readonly struct PortSet(PortMatch[] ports) : IEquatable<PortSet>
{
    public PortMatch[] Ports { get; } = ports;

    public bool Equals(PortSet other) => Ports.AsSpan().SequenceEqual(other.Ports);

    public override bool Equals(object? obj) => obj is PortSet other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var port in Ports)
            hash.Add(port);
        return hash.ToHashCode();
    }
}

internal static class NamedPorts
{
    /// <summary>Adds the container ports of <paramref name="pod"/> that the named policy ports refer to (same name and protocol).</summary>
    public static void Resolve(PolicyPort[] named, Pod pod, List<PortMatch> into)
    {
        foreach (var policyPort in named)
            foreach (var port in pod.Ports)
                if (port.Name == policyPort.Name && port.Protocol == policyPort.Protocol)
                {
                    var match = new PortMatch(port.Protocol, port.Number, port.Number);
                    if (!into.Contains(match))
                        into.Add(match);
                }
    }
}
