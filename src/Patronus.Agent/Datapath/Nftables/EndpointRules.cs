using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Nftables;

/// <summary>A peer range admitted on a protocol and an inclusive port range: one element of a concatenated interval set.</summary>
internal readonly record struct PortBox(AddressInterval Peer, Protocol Protocol, int FirstPort, int LastPort);

/// <summary>
/// The named counter an isolated endpoint's drops go to. Counters are shared by every endpoint with the
/// same attribution, so patronus_policy_blocks_total{namespace,policy} is one kernel counter, and it
/// survives endpoints coming and going.
/// </summary>
internal sealed record DropCounter(string Namespace, string Policy, string Direction)
{
    public string Name => "drop_" + NameHash.Of($"{Namespace}/{Policy}/{Direction}");

    /// <summary>Stored on the kernel object so counters can be attributed after an agent restart.</summary>
    public string Comment => $"{Namespace}/{Policy} {Direction}";

    public static DropCounter? ParseComment(string comment)
    {
        var space = comment.LastIndexOf(' ');
        var slash = comment.IndexOf('/');
        if (space < 0 || slash < 0 || slash > space)
            return null;
        return new DropCounter(comment[..slash], comment[(slash + 1)..space], comment[(space + 1)..]);
    }
}

/// <summary>What one endpoint admits in one direction, reduced to the sets and rules of its nftables chain.</summary>
/// <param name="AllowAll">Some rule admits everything (no peers, no ports): the chain just returns.</param>
/// <param name="Peers4">IPv4 peers admitted on every port of every protocol, disjoint.</param>
/// <param name="Ports4">IPv4 (peer, protocol, ports) boxes, disjoint.</param>
internal sealed record DirectionRules(
    string Chain,
    string Comment,
    bool AllowAll,
    IReadOnlyList<AddressInterval> Peers4,
    IReadOnlyList<AddressInterval> Peers6,
    IReadOnlyList<PortBox> Ports4,
    IReadOnlyList<PortBox> Ports6,
    DropCounter Counter)
{
    public string Peers4Set => Chain + "_a4";
    public string Peers6Set => Chain + "_a6";
    public string Ports4Set => Chain + "_p4";
    public string Ports6Set => Chain + "_p6";

    /// <summary>The sets this chain's rules reference, by name, with their nft type.</summary>
    public IEnumerable<(string Name, string Type, IReadOnlyList<string> Elements)> Sets()
    {
        if (AllowAll)
            yield break;
        if (Peers4.Count > 0)
            yield return (Peers4Set, "ipv4_addr", Peers4.Select(p => p.ToString()).ToList());
        if (Ports4.Count > 0)
            yield return (Ports4Set, "ipv4_addr . inet_proto . inet_service", Ports4.Select(Element).ToList());
        if (Peers6.Count > 0)
            yield return (Peers6Set, "ipv6_addr", Peers6.Select(p => p.ToString()).ToList());
        if (Ports6.Count > 0)
            yield return (Ports6Set, "ipv6_addr . inet_proto . inet_service", Ports6.Select(Element).ToList());
    }

    private static string Element(PortBox box)
    {
        var ports = box.FirstPort == box.LastPort ? $"{box.FirstPort}" : $"{box.FirstPort}-{box.LastPort}";
        return $"{box.Peer} . {ProtocolName(box.Protocol)} . {ports}";
    }

    public static string ProtocolName(Protocol protocol) => protocol switch
    {
        Protocol.Tcp => "tcp",
        Protocol.Udp => "udp",
        Protocol.Sctp => "sctp",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown protocol"),
    };
}

/// <summary>An endpoint as the nftables ruleset holds it; null directions are not isolated (open).</summary>
internal sealed record EndpointRules(EndpointId Endpoint, IReadOnlyList<IPAddress> Addresses, DirectionRules? Ingress, DirectionRules? Egress)
{
    public static EndpointRules From(EndpointPolicy policy)
    {
        var endpoint = policy.Endpoint;
        CheckName(endpoint.Namespace, "endpoint namespace");
        CheckName(endpoint.Name, "endpoint name");
        var hash = NameHash.Of(endpoint.ToString());
        return new EndpointRules(
            endpoint,
            policy.Addresses,
            Compile(endpoint, policy.Ingress, $"ep_{hash}_in", "ingress"),
            Compile(endpoint, policy.Egress, $"ep_{hash}_eg", "egress"));
    }

    private static DirectionRules? Compile(EndpointId endpoint, DirectionPolicy policy, string chain, string direction)
    {
        if (!policy.Isolated)
            return null;

        // Attribution: with exactly one isolating policy every drop is that policy's doing; with several,
        // a drop is the joint work of all of them (no single rule "denies"), so it is counted under "".
        var attributed = policy.IsolatedBy.Count == 1 ? PolicyName(policy.IsolatedBy[0]) : "";
        CheckName(attributed, $"{direction} isolatedBy");
        var counter = new DropCounter(endpoint.Namespace, attributed, direction);
        var comment = $"{endpoint} {direction}";

        var allowAll = false;
        var peers = new List<AddressInterval>();
        var boxes = new List<(List<AddressInterval> Peers, PortMatch Port)>();
        for (var i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            var rulePeers = rule.Peers is null
                ? new List<AddressInterval> { AddressInterval.Everything(AddressFamily.InterNetwork), AddressInterval.Everything(AddressFamily.InterNetworkV6) }
                : rule.Peers.SelectMany(p => AddressInterval.Subtract(p.Network, p.Except)).ToList();
            if (rule.Ports is null)
            {
                if (rule.Peers is null)
                    allowAll = true;
                peers.AddRange(rulePeers);
                continue;
            }
            foreach (var port in rule.Ports)
            {
                CheckPort(port, $"{direction} rule {i} ({rule.Origin.PolicyName})");
                boxes.Add((rulePeers, port));
            }
        }

        if (allowAll)
            return new DirectionRules(chain, comment, true, [], [], [], [], counter);
        return new DirectionRules(
            chain,
            comment,
            false,
            AddressInterval.Union(peers.Where(p => p.Family == AddressFamily.InterNetwork)),
            AddressInterval.Union(peers.Where(p => p.Family == AddressFamily.InterNetworkV6)),
            DisjointBoxes(boxes, AddressFamily.InterNetwork),
            DisjointBoxes(boxes, AddressFamily.InterNetworkV6),
            counter);
    }

    /// <summary>
    /// Turns overlapping (peers, protocol, port range) rules into disjoint boxes: the port axis is cut at
    /// every range boundary, and within each elementary port segment the admitted peers are merged. Adjacent
    /// segments that admit the same peers are joined again so the set stays small.
    /// </summary>
    private static List<PortBox> DisjointBoxes(List<(List<AddressInterval> Peers, PortMatch Port)> rules, AddressFamily family)
    {
        var result = new List<PortBox>();
        foreach (var protocol in Enum.GetValues<Protocol>())
        {
            var relevant = rules
                .Where(r => r.Port.Protocol == protocol)
                .Select(r => (Peers: AddressInterval.Union(r.Peers.Where(p => p.Family == family)), First: r.Port.First ?? 0, Last: r.Port.First is null ? 65535 : r.Port.Last))
                .Where(r => r.Peers.Count > 0)
                .ToList();
            if (relevant.Count == 0)
                continue;

            // Sweep along the port axis: rules open at First and close after Last, so each elementary
            // segment only looks at the rules active over it.
            var opens = relevant.Select((r, i) => (Port: r.First, Index: i)).ToLookup(e => e.Port, e => e.Index);
            var closes = relevant.Select((r, i) => (Port: r.Last + 1, Index: i)).ToLookup(e => e.Port, e => e.Index);
            var cuts = relevant.SelectMany(r => new[] { r.First, r.Last + 1 }).Distinct().Order().ToList();
            var active = new SortedSet<int>();
            List<AddressInterval>? pending = null;
            int pendingFirst = 0, pendingLast = 0;
            for (var c = 0; c + 1 < cuts.Count; c++)
            {
                int first = cuts[c], last = cuts[c + 1] - 1;
                foreach (var index in closes[first])
                    active.Remove(index);
                foreach (var index in opens[first])
                    active.Add(index);
                var admitted = active.Count == 1 ? relevant[active.Min].Peers : AddressInterval.Union(active.SelectMany(i => relevant[i].Peers));
                if (pending is not null && pendingLast + 1 == first && pending.SequenceEqual(admitted))
                {
                    pendingLast = last;
                    continue;
                }
                Flush();
                if (admitted.Count > 0)
                    (pending, pendingFirst, pendingLast) = (admitted, first, last);
            }
            Flush();

            void Flush()
            {
                if (pending is not null)
                    result.AddRange(pending.Select(p => new PortBox(p, protocol, pendingFirst, pendingLast)));
                pending = null;
            }
        }
        return result;
    }

    private static string PolicyName(string isolatedBy)
    {
        var slash = isolatedBy.IndexOf('/');
        return slash < 0 ? isolatedBy : isolatedBy[(slash + 1)..];
    }

    private static void CheckPort(PortMatch port, string field)
    {
        if (port.First is null)
            return;
        if (port.First < 0 || port.Last > 65535 || port.First > port.Last)
            throw new ArgumentException($"{field}: port range {port.First}-{port.Last} is not within 0-65535 in order");
    }

    /// <summary>Names end up inside quoted nft comments; Kubernetes names never hold these characters.</summary>
    private static void CheckName(string value, string field)
    {
        foreach (var c in value)
            if (c is '"' or '\\' or '/' or ' ' || char.IsControl(c))
                throw new ArgumentException($"{field} \"{value}\" holds a character not allowed in a Kubernetes name");
    }
}

/// <summary>Stable, nft-safe object names: the first 64 bits of SHA-256 in hex (chain names must not carry '/' or '.').</summary>
internal static class NameHash
{
    public static string Of(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)), 0, 8);
}
