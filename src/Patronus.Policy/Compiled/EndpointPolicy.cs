using System.Net;

namespace Patronus.Policy.Compiled;

/// <summary>Transport protocols a NetworkPolicy port can name (networking.k8s.io/v1 NetworkPolicyPort.protocol).</summary>
public enum Protocol
{
    Tcp,
    Udp,
    Sctp,
}

/// <summary>A pod as the datapath sees it: its identity and the addresses that stand for it on the wire.</summary>
public sealed record EndpointId(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>Which policy, rule and peer produced an allow rule: kept for `explain` and for drop attribution.</summary>
/// <param name="PolicyNamespace">Namespace of the NetworkPolicy.</param>
/// <param name="PolicyName">Name of the NetworkPolicy.</param>
/// <param name="RuleIndex">Index of the rule in the policy's ingress or egress list.</param>
/// <param name="PeerIndex">Index of the peer in the rule's from/to list; null when the rule has no peers (matches all).</param>
public sealed record RuleOrigin(string PolicyNamespace, string PolicyName, int RuleIndex, int? PeerIndex);

/// <summary>An address range a rule admits: a CIDR minus excepted CIDRs (a pod peer is a /32 or /128 with no excepts).</summary>
public sealed record CidrMatch(IPNetwork Network, IReadOnlyList<IPNetwork> Except)
{
    public bool Contains(IPAddress address)
    {
        if (!Network.Contains(address))
            return false;
        foreach (var except in Except)
            if (except.Contains(address))
                return false;
        return true;
    }
}

/// <summary>
/// A port match with named ports already resolved: a protocol and an inclusive port range.
/// <see cref="First"/> null means every port of that protocol.
/// </summary>
public readonly record struct PortMatch(Protocol Protocol, int? First, int Last)
{
    public bool Matches(Protocol protocol, int port) =>
        protocol == Protocol && (First is null || (port >= First && port <= Last));
}

/// <summary>
/// One way traffic is admitted in one direction. <see cref="Peers"/> null means any peer (a rule without
/// from/to); <see cref="Ports"/> null means every port of every protocol (a rule without ports).
/// An empty (non-null) list matches nothing.
/// </summary>
public sealed record AllowRule(RuleOrigin Origin, IReadOnlyList<CidrMatch>? Peers, IReadOnlyList<PortMatch>? Ports)
{
    public bool Matches(IPAddress peer, Protocol protocol, int port)
    {
        if (Peers is not null && !Peers.Any(p => p.Contains(peer)))
            return false;
        return Ports is null || Ports.Any(p => p.Matches(protocol, port));
    }
}

/// <summary>
/// What one endpoint admits in one direction. When <see cref="Isolated"/> is false no policy of this
/// type selects the endpoint and everything is allowed; otherwise only what some rule admits.
/// <see cref="IsolatedBy"/> lists the policies (namespace/name) that select the endpoint for this direction.
/// </summary>
public sealed record DirectionPolicy(bool Isolated, IReadOnlyList<string> IsolatedBy, IReadOnlyList<AllowRule> Rules)
{
    public static readonly DirectionPolicy Open = new(false, [], []);

    public bool Allows(IPAddress peer, Protocol protocol, int port) =>
        !Isolated || Rules.Any(r => r.Matches(peer, protocol, port));
}

/// <summary>
/// The compiled, per-endpoint form of every NetworkPolicy that selects a pod. The kernel datapath is
/// programmed from this, and `patronus policy reach` answers from it, so what is analysed is what is enforced.
/// For ingress, peers are sources; for egress, peers are destinations.
/// </summary>
public sealed record EndpointPolicy(EndpointId Endpoint, IReadOnlyList<IPAddress> Addresses, DirectionPolicy Ingress, DirectionPolicy Egress);
