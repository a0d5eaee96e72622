using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Compiler;

/// <summary>A NetworkPolicy inside the compiler: the pods it selects and its rules with their resolved peers.</summary>
internal sealed class PolicyState
{
    private static long nextSerial;

    public PolicyState(NetworkPolicy model)
    {
        Model = model;
        Key = model.Key;
        Serial = Interlocked.Increment(ref nextSerial);
        Ingress = model.Ingress.Select((rule, i) => new RuleState(this, egress: false, i, rule)).ToArray();
        Egress = model.Egress.Select((rule, i) => new RuleState(this, egress: true, i, rule)).ToArray();
    }

    public NetworkPolicy Model { get; }

    /// <summary>namespace/name, computed once: every compiled endpoint the policy isolates lists it.</summary>
    public string Key { get; }

    /// <summary>Participating pods (with addresses) the policy's podSelector selects.</summary>
    public HashSet<PodEntry> Selected { get; } = [];

    /// <summary>Tells apart successive versions of the same policy in profile keys.</summary>
    public long Serial { get; }

    /// <summary>Profile keys that include this policy, forgotten with it.</summary>
    public HashSet<string> Profiles { get; } = [];

    public RuleState[] Ingress { get; }

    public RuleState[] Egress { get; }

    public IEnumerable<PeerState> Peers => Ingress.Concat(Egress).SelectMany(r => r.Peers);

    public bool AppliesTo(PolicyTypes type) => (Model.Types & type) != 0;
}

/// <summary>One ingress or egress rule: its peers, and its ports split into numbers (shared) and names (resolved per pod).</summary>
internal sealed class RuleState
{
    private AllowRule[]? shared;
    private Dictionary<PortSet, AllowRule[]>? ingressByPorts;

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
        // Interned: pods cache their resolution per distinct key, compared by reference.
        NamedKey = string.Intern(string.Join(',', NamedPorts.Select(p => $"{p.Name}/{p.Protocol}")) + "|" +
            string.Join(',', NumericPorts?.Select(p => p.ToString()) ?? []));
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

    public string NamedKey { get; }

    public bool HasNamedPorts => NamedPorts.Length > 0;

    public PeerState[] Peers { get; }

    /// <summary>Forgets the compiled rules after a peer's selection changed.</summary>
    public void Invalidate()
    {
        shared = null;
        ingressByPorts = null;
    }

    /// <summary>
    /// The allow rules every selected pod shares: ingress rules without named ports, and all egress rules
    /// (egress named ports are resolved against each destination pod, not against the sender).
    /// </summary>
    public AllowRule[] SharedRules() => shared ??= BuildShared();

    public void AppendIngress(PodEntry destination, List<AllowRule> into)
    {
        if (!HasNamedPorts)
        {
            into.AddRange(SharedRules());
            return;
        }
        var key = destination.ResolvedPorts(this);
        // A rule whose ports all fail to resolve on this pod admits nothing here (upstream e2e: named port
        // missing on the target pod means denied).
        if (key.Ports.Length == 0)
            return;
        // Pods that resolve the names to the same ports share the same rules.
        ingressByPorts ??= [];
        if (!ingressByPorts.TryGetValue(key, out var rules))
            ingressByPorts[key] = rules = Peers.Select(peer => new AllowRule(Origin(peer), peer.Cidrs(), key.Ports)).ToArray();
        into.AddRange(rules);
    }

    private AllowRule[] BuildShared()
    {
        var rules = new List<AllowRule>();
        foreach (var peer in Peers)
        {
            var origin = Origin(peer);
            if (NumericPorts is null)
            {
                rules.Add(new AllowRule(origin, peer.Cidrs(), null));
                continue;
            }
            if (NumericPorts.Length > 0)
                rules.Add(new AllowRule(origin, peer.Cidrs(), NumericPorts));
            if (HasNamedPorts && IsEgress)
                foreach (var group in peer.Selection!.Expand(NamedPorts, NamedKey))
                    rules.Add(new AllowRule(origin, group.Cidrs, group.Ports));
        }
        return rules.ToArray();
    }

    private RuleOrigin Origin(PeerState peer) => new(Policy.Model.Namespace, Policy.Model.Name, Index, peer.Index);
}

/// <summary>
/// One peer of one rule. Pod-selecting peers (and ipBlock or match-all peers of egress rules with named
/// ports, which need the destination pods) share a <see cref="Compiler.Selection"/> with equal peers.
/// </summary>
internal sealed class PeerState
{
    private readonly CidrMatch[]? block;

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
        if (model?.IpBlock is { } ipBlock)
            block = [new CidrMatch(ipBlock.Cidr, ipBlock.Except)];
        TracksPods = Kind is PeerKind.Local or PeerKind.Namespaced || (rule.IsEgress && rule.HasNamedPorts);
    }

    public RuleState Rule { get; }

    public int? Index { get; }

    public PolicyPeer? Model { get; }

    public PeerKind Kind { get; }

    public bool TracksPods { get; }

    /// <summary>Set by the compiler when <see cref="TracksPods"/>.</summary>
    public Selection? Selection { get; set; }

    public string PolicyNamespace => Rule.Policy.Model.Namespace;

    /// <summary>The addresses this peer admits; null for a match-all peer.</summary>
    public CidrMatch[]? Cidrs() => Kind switch
    {
        PeerKind.All => null,
        PeerKind.Block => block,
        _ => Selection!.Cidrs(),
    };
}
