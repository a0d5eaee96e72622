using System.Net;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Tests.Support;

/// <summary>
/// A direct reading of the networking.k8s.io/v1 NetworkPolicy reference, written only for the tests: no
/// compilation, no indexes, no caching. The compiled form must agree with it everywhere.
/// </summary>
internal sealed class SpecOracle(IReadOnlyList<Namespace> namespaces, IReadOnlyList<Pod> pods, IReadOnlyList<NetworkPolicy> policies)
{
    public IEnumerable<Pod> Participants => pods.Where(p => p.Addresses.Count > 0);

    /// <summary>Pod to pod: self always; else the sender's egress toward the receiver and the receiver's ingress from the sender.</summary>
    public bool Allowed(Pod from, Pod to, Protocol protocol, int port)
    {
        if (from.Namespace == to.Namespace && from.Name == to.Name)
            return true;
        // The documented dual-stack choice: the sender's first address whose family the receiver has.
        var fromAddress = from.Addresses.FirstOrDefault(a => to.Addresses.Any(b => b.AddressFamily == a.AddressFamily));
        if (fromAddress is null)
            return false;
        var toAddress = to.Addresses.First(b => b.AddressFamily == fromAddress.AddressFamily);
        return EgressAllows(from, toAddress, to, protocol, port) && IngressAllows(to, fromAddress, from, protocol, port);
    }

    /// <summary>Egress of <paramref name="from"/> toward an address, which may belong to a pod (<paramref name="to"/>) or not.</summary>
    public bool EgressAllows(Pod from, IPAddress address, Pod? to, Protocol protocol, int port)
    {
        var selecting = policies.Where(p => p.Namespace == from.Namespace && (p.Types & PolicyTypes.Egress) != 0 && p.PodSelector.Matches(from.Labels)).ToList();
        if (selecting.Count == 0)
            return true;
        return selecting.Any(p => p.Egress.Any(rule =>
            (rule.Peers.Count == 0 || rule.Peers.Any(peer => PeerMatches(p, peer, address, to))) &&
            (rule.Ports.Count == 0 || rule.Ports.Any(port2 => PortMatches(port2, to, protocol, port)))));
    }

    public bool IngressAllows(Pod to, IPAddress address, Pod? from, Protocol protocol, int port)
    {
        var selecting = policies.Where(p => p.Namespace == to.Namespace && (p.Types & PolicyTypes.Ingress) != 0 && p.PodSelector.Matches(to.Labels)).ToList();
        if (selecting.Count == 0)
            return true;
        return selecting.Any(p => p.Ingress.Any(rule =>
            (rule.Peers.Count == 0 || rule.Peers.Any(peer => PeerMatches(p, peer, address, from))) &&
            (rule.Ports.Count == 0 || rule.Ports.Any(port2 => PortMatches(port2, to, protocol, port)))));
    }

    private bool PeerMatches(NetworkPolicy policy, PolicyPeer peer, IPAddress address, Pod? pod)
    {
        if (peer.IpBlock is { } block)
            return block.Cidr.Contains(address) && !block.Except.Any(e => e.Contains(address));
        if (pod is null)
            return false;
        var namespaceOk = peer.NamespaceSelector is null
            ? pod.Namespace == policy.Namespace
            : peer.NamespaceSelector.Matches(NamespaceLabels(pod.Namespace));
        return namespaceOk && (peer.PodSelector is null || peer.PodSelector.Matches(pod.Labels));
    }

    /// <summary>A named port means the destination pod's container port of that name and protocol.</summary>
    private static bool PortMatches(PolicyPort rule, Pod? destination, Protocol protocol, int port)
    {
        if (rule.Protocol != protocol)
            return false;
        if (rule.Name is not null)
            return destination is not null && destination.Ports.Any(p => p.Name == rule.Name && p.Protocol == protocol && p.Number == port);
        if (rule.Number is null)
            return true;
        return port >= rule.Number && port <= (rule.EndPort ?? rule.Number);
    }

    private IReadOnlyDictionary<string, string> NamespaceLabels(string name)
    {
        var labels = new Dictionary<string, string>(namespaces.FirstOrDefault(n => n.Name == name)?.Labels ?? new Dictionary<string, string>());
        labels.TryAdd("kubernetes.io/metadata.name", name);
        return labels;
    }
}
