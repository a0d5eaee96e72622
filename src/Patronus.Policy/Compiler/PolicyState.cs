using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Compiler;

/// <summary>A NetworkPolicy inside the compiler: the pods it selects and its rules with their resolved peers.</summary>
internal sealed class PolicyState
{
    public PolicyState(NetworkPolicy model)
    {
        Model = model;
        Ingress = model.Ingress.Select((rule, i) => new RuleState(this, egress: false, i, rule)).ToArray();
        Egress = model.Egress.Select((rule, i) => new RuleState(this, egress: true, i, rule)).ToArray();
    }

    public NetworkPolicy Model { get; }

    public string Key => Model.Key;

    /// <summary>Participating pods (with addresses) the policy's podSelector selects.</summary>
    public HashSet<EndpointId> Selected { get; } = [];

    public RuleState[] Ingress { get; }

    public RuleState[] Egress { get; }

    public IEnumerable<PeerState> Peers => Ingress.Concat(Egress).SelectMany(r => r.Peers);

    public bool AppliesTo(PolicyTypes type) => (Model.Types & type) != 0;
}

/// <summary>One ingress or egress rule: its peers, and its ports split into numbers (shared) and names (resolved per pod).</summary>
internal sealed class RuleState
{
    private AllowRule[]? shared;

    public RuleState(PolicyState policy, bool egress, int index, PolicyRule model)
    {
        Policy = policy;
        IsEgress = egress;
        Index = index;
        Model = model;
        if (model.Ports.Count == 0)
        {
            NumericPorts = null;
            NamedPorts = [];
        }
        else
        {
            NumericPorts = model.Ports.Where(p => p.Name is null)
                .Select(p => p.Number is { } first
                    ? new PortMatch(p.Protocol, first, p.EndPort ?? first)
                    : new PortMatch(p.Protocol, null, 65535))
                .Distinct().ToArray();
            NamedPorts = model.Ports.Where(p => p.Name is not null).ToArray();
        }
        Peers = model.Peers.Count == 0
            ? [new PeerState(this, null, null)]
            : model.Peers.Select((peer, i) => new PeerState(this, i, peer)).ToArray();
    }

    public PolicyState Policy { get; }

    public bool IsEgress { get; }

    public int Index { get; }

    public PolicyRule Model { get; }

    /// <summary>Null when the rule has no ports (all ports, all protocols).</summary>
    public PortMatch[]? NumericPorts { get; }

    public PolicyPort[] NamedPorts { get; }

    public bool HasNamedPorts => NamedPorts.Length > 0;

    public PeerState[] Peers { get; }

    /// <summary>Forgets the compiled rules after a peer changed.</summary>
    public void Invalidate() => shared = null;

    /// <summary>
    /// The allow rules every selected pod shares: ingress rules without named ports, and all egress rules
    /// (egress named ports are resolved against each destination pod, not against the sender).
    /// </summary>
    public AllowRule[] SharedRules(Func<EndpointId, CidrMatch[]> podCidrs) => shared ??= BuildShared(podCidrs);

    public void AppendIngress(Pod destination, Func<EndpointId, CidrMatch[]> podCidrs, List<AllowRule> into)
    {
        if (!HasNamedPorts)
        {
            into.AddRange(SharedRules(podCidrs));
            return;
        }
        var ports = new List<PortMatch>(NumericPorts!);
        AddResolved(destination, ports);
        // A rule whose ports all fail to resolve on this pod admits nothing here (upstream e2e: named port
        // missing on the target pod means denied).
        if (ports.Count == 0)
            return;
        var portArray = ports.ToArray();
        foreach (var peer in Peers)
            into.Add(new AllowRule(Origin(peer), peer.Cidrs(podCidrs), portArray));
    }

    private AllowRule[] BuildShared(Func<EndpointId, CidrMatch[]> podCidrs)
    {
        var rules = new List<AllowRule>();
        foreach (var peer in Peers)
        {
            var origin = Origin(peer);
            if (NumericPorts is null)
            {
                rules.Add(new AllowRule(origin, peer.Cidrs(podCidrs), null));
                continue;
            }
            if (NumericPorts.Length > 0)
                rules.Add(new AllowRule(origin, peer.Cidrs(podCidrs), NumericPorts));
            if (HasNamedPorts && IsEgress)
                AddEgressNamedPortRules(peer, origin, podCidrs, rules);
        }
        return rules.ToArray();
    }

    /// <summary>
    /// Egress named ports name the destination pod's container ports, so they expand per destination:
    /// destinations are grouped by the ports their names resolve to, one rule per group.
    /// </summary>
    private void AddEgressNamedPortRules(PeerState peer, RuleOrigin origin, Func<EndpointId, CidrMatch[]> podCidrs, List<AllowRule> rules)
    {
        var groups = new Dictionary<string, (PortMatch[] Ports, List<CidrMatch> Cidrs)>();
        foreach (var (id, pod) in peer.Matched)
        {
            var resolved = new List<PortMatch>();
            AddResolved(pod, resolved);
            if (resolved.Count == 0)
                continue;
            var key = string.Join(',', resolved);
            if (!groups.TryGetValue(key, out var group))
                groups[key] = group = (resolved.ToArray(), []);
            foreach (var cidr in podCidrs(id))
                if (peer.Block is null || peer.Block.Contains(cidr.Network.BaseAddress))
                    group.Cidrs.Add(cidr);
        }
        foreach (var (ports, cidrs) in groups.Values)
            rules.Add(new AllowRule(origin, cidrs.ToArray(), ports));
    }

    private void AddResolved(Pod pod, List<PortMatch> into)
    {
        foreach (var named in NamedPorts)
            foreach (var port in pod.Ports)
                if (port.Name == named.Name && port.Protocol == named.Protocol)
                {
                    var match = new PortMatch(port.Protocol, port.Number, port.Number);
                    if (!into.Contains(match))
                        into.Add(match);
                }
    }

    private RuleOrigin Origin(PeerState peer) => new(Policy.Model.Namespace, Policy.Model.Name, Index, peer.Index);
}

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
/// One peer of one rule, with the pods it matches kept up to date. ipBlock and match-all peers only track
/// pods when an egress rule needs them to resolve named ports.
/// </summary>
internal sealed class PeerState
{
    private CidrMatch[]? cidrs;

    public PeerState(RuleState rule, int? index, PolicyPeer? model)
    {
        Rule = rule;
        Index = index;
        Model = model;
        Kind = model switch
        {
            null => PeerKind.All,
            { IpBlock: not null } => PeerKind.Block,
            { NamespaceSelector: not null } => PeerKind.Namespaced,
            _ => PeerKind.Local,
        };
        if (model?.IpBlock is { } block)
            Block = new CidrMatch(block.Cidr, block.Except);
        TracksPods = Kind is PeerKind.Local or PeerKind.Namespaced || (rule.IsEgress && rule.HasNamedPorts);
    }

    public RuleState Rule { get; }

    public int? Index { get; }

    public PolicyPeer? Model { get; }

    public PeerKind Kind { get; }

    public CidrMatch? Block { get; }

    public bool TracksPods { get; }

    /// <summary>For namespaced peers: the namespaces whose labels match the namespace selector.</summary>
    public HashSet<string> MatchingNamespaces { get; } = [];

    public Dictionary<EndpointId, Pod> Matched { get; } = [];

    public string PolicyNamespace => Rule.Policy.Model.Namespace;

    public bool Matches(Pod pod) => Kind switch
    {
        PeerKind.Local => pod.Namespace == PolicyNamespace && Model!.PodSelector!.Matches(pod.Labels),
        PeerKind.Namespaced => MatchingNamespaces.Contains(pod.Namespace) && (Model!.PodSelector?.Matches(pod.Labels) ?? true),
        PeerKind.Block => pod.Addresses.Any(Block!.Contains),
        _ => true,
    };

    /// <summary>Marks the peer's addresses (and so its rule) out of date.</summary>
    public void Invalidate()
    {
        cidrs = null;
        Rule.Invalidate();
    }

    /// <summary>The addresses this peer admits; null for a match-all peer.</summary>
    public CidrMatch[]? Cidrs(Func<EndpointId, CidrMatch[]> podCidrs)
    {
        switch (Kind)
        {
            case PeerKind.All:
                return null;
            case PeerKind.Block:
                return cidrs ??= [Block!];
            default:
                if (cidrs is null)
                {
                    var list = new List<CidrMatch>(Matched.Count);
                    foreach (var id in Matched.Keys)
                        list.AddRange(podCidrs(id));
                    cidrs = list.ToArray();
                }
                return cidrs;
        }
    }
}
