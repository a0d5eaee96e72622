using System.Net;
using System.Runtime.CompilerServices;
using Patronus.Policy.Compiled;

namespace Patronus.Policy.Analysis;

/// <summary>The admitting side of one direction: whether the endpoint is isolated, by whom, and what admits the traffic.</summary>
/// <param name="Endpoint">The endpoint whose policy was consulted (the sender for egress, the receiver for ingress).</param>
/// <param name="Peer">The address the rule was checked against (the receiver's for egress, the sender's for ingress).</param>
public sealed record DirectionVerdict(EndpointId Endpoint, IPAddress? Peer, bool Isolated, IReadOnlyList<string> IsolatedBy, IReadOnlyList<RuleOrigin> AdmittedBy)
{
    public bool Allowed => !Isolated || AdmittedBy.Count > 0;
}

/// <summary>Why traffic from one endpoint to another, on one port, is allowed or denied.</summary>
public sealed record TrafficVerdict(
    EndpointId From,
    EndpointId To,
    Protocol Protocol,
    int Port,
    bool Self,
    IPAddress? FromAddress,
    IPAddress? ToAddress,
    DirectionVerdict Egress,
    DirectionVerdict Ingress)
{
    /// <summary>True when no address family is shared by both pods, so they cannot talk at all.</summary>
    public bool NoCommonFamily => !Self && (FromAddress is null || ToAddress is null);

    public bool Allowed => Self || (!NoCommonFamily && Egress.Allowed && Ingress.Allowed);
}

/// <summary>
/// Answers "may A reach B" from the compiled per-endpoint form alone: the same objects the datapath is
/// programmed from, so what is checked is what is enforced.
/// </summary>
/// <remarks>
/// Pod-to-pod traffic must pass the sender's egress (checked against the receiver's address) and the
/// receiver's ingress (checked against the sender's address); a pod may always reach itself.
/// Dual-stack: the pair of addresses checked is the sender's first address whose family the receiver also
/// has, with the receiver's first address of that family (for a pod, its primary <c>status.podIP</c>
/// family first). Pods that share no family cannot reach each other.
/// </remarks>
public static class Reachability
{
    public static bool Allows(EndpointPolicy from, EndpointPolicy to, Protocol protocol, int port)
    {
        if (from.Endpoint == to.Endpoint)
            return true;
        var (fromAddress, toAddress) = AddressPair(from, to);
        if (fromAddress is null || toAddress is null)
            return false;
        return Allows(from.Egress, toAddress, protocol, port) && Allows(to.Ingress, fromAddress, protocol, port);
    }

    /// <summary>
    /// <see cref="DirectionPolicy.Allows"/>, with large peer lists looked up in a hash set of their host
    /// addresses instead of scanned: a whole-cluster matrix asks the same lists once per pod pair.
    /// </summary>
    public static bool Allows(DirectionPolicy policy, IPAddress peer, Protocol protocol, int port)
    {
        if (!policy.Isolated)
            return true;
        foreach (var rule in policy.Rules)
        {
            if (rule.Ports is { } ports && !PortsMatch(ports, protocol, port))
                continue;
            if (rule.Peers is null || PeerIndex.For(rule.Peers).Contains(peer))
                return true;
        }
        return false;
    }

    private static bool PortsMatch(IReadOnlyList<PortMatch> ports, Protocol protocol, int port)
    {
        for (var i = 0; i < ports.Count; i++)
            if (ports[i].Matches(protocol, port))
                return true;
        return false;
    }

    /// <summary>A peer list split into single hosts (a set) and ranges (scanned), built once per list.</summary>
    private sealed class PeerIndex
    {
        private static readonly ConditionalWeakTable<IReadOnlyList<CidrMatch>, PeerIndex> Cache = [];

        private readonly HashSet<IPAddress> hosts = [];
        private readonly List<CidrMatch> ranges = [];

        private PeerIndex(IReadOnlyList<CidrMatch> peers)
        {
            foreach (var peer in peers)
            {
                var hostLength = peer.Network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
                if (peer.Network.PrefixLength == hostLength && peer.Except.Count == 0)
                    hosts.Add(peer.Network.BaseAddress);
                else
                    ranges.Add(peer);
            }
        }

        public static PeerIndex For(IReadOnlyList<CidrMatch> peers) => Cache.GetValue(peers, static list => new PeerIndex(list));

        public bool Contains(IPAddress address)
        {
            if (hosts.Contains(address))
                return true;
            foreach (var range in ranges)
                if (range.Contains(address))
                    return true;
            return false;
        }
    }

    public static TrafficVerdict Explain(EndpointPolicy from, EndpointPolicy to, Protocol protocol, int port)
    {
        var self = from.Endpoint == to.Endpoint;
        var (fromAddress, toAddress) = AddressPair(from, to);
        return new TrafficVerdict(
            from.Endpoint, to.Endpoint, protocol, port, self, fromAddress, toAddress,
            Direction(from.Endpoint, from.Egress, toAddress, protocol, port),
            Direction(to.Endpoint, to.Ingress, fromAddress, protocol, port));
    }

    /// <summary>The addresses evaluated for a pair of pods (see the remarks on <see cref="Reachability"/>).</summary>
    public static (IPAddress? From, IPAddress? To) AddressPair(EndpointPolicy from, EndpointPolicy to)
    {
        foreach (var source in from.Addresses)
            foreach (var destination in to.Addresses)
                if (destination.AddressFamily == source.AddressFamily)
                    return (source, destination);
        return (null, null);
    }

    private static DirectionVerdict Direction(EndpointId endpoint, DirectionPolicy policy, IPAddress? peer, Protocol protocol, int port)
    {
        var admitted = new List<RuleOrigin>();
        if (policy.Isolated && peer is not null)
            foreach (var rule in policy.Rules)
                if (rule.Matches(peer, protocol, port) && !admitted.Contains(rule.Origin))
                    admitted.Add(rule.Origin);
        // explain checks every rule with the contract's own AllowRule.Matches: it names all that admit.
        return new DirectionVerdict(endpoint, peer, policy.Isolated, policy.IsolatedBy, admitted);
    }
}
