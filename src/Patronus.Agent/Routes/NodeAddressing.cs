using System.Net;
using System.Net.Sockets;
using k8s.Models;
using Patronus.Netlink;

namespace Patronus.Agent.Routes;

/// <summary>
/// What routing needs of a Node: its underlay addresses (<c>status.addresses</c>, InternalIP first) and its pod
/// ranges (<c>spec.podCIDRs</c>, as kube-controller-manager assigns them; one per family).
/// </summary>
public sealed record NodeAddressing(string Name, IReadOnlyList<IPAddress> Addresses, IReadOnlyList<IPNetwork> PodCidrs)
{
    /// <summary>Whether the node runs the mesh's WireGuard gateway (its gateway label is "true"): other nodes route remote clusters' ranges to it.</summary>
    public bool Gateway { get; init; }

    public IPAddress? AddressOf(AddressFamily family) => Addresses.FirstOrDefault(a => a.AddressFamily == family);

    public IPNetwork? PodCidrOf(AddressFamily family) =>
        PodCidrs.Where(c => c.BaseAddress.AddressFamily == family).Select(c => (IPNetwork?)c).FirstOrDefault();

    /// <summary>
    /// Reads a Node; a malformed field is reported and left out (a node with a bad podCIDR still gets routes for
    /// its good ones) so that one broken Node never stops routing to the others.
    /// </summary>
    /// <param name="gatewayLabel">The label that makes a node a mesh gateway; null when there is no mesh.</param>
    public static NodeAddressing FromNode(V1Node node, ICollection<string> problems, string? gatewayLabel = null)
    {
        var name = node.Metadata?.Name ?? "";
        var cidrs = new List<IPNetwork>();
        var texts = node.Spec?.PodCIDRs is { Count: > 0 } list ? list : node.Spec?.PodCIDR is { } single ? [single] : [];
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            if (!NetworkRanges.TryParseNetwork(text, out var cidr))
            {
                problems.Add($"Node {name}: spec.podCIDRs[{i}] '{text}' is not a network in CIDR notation (host bits must be zero)");
                continue;
            }
            if (cidrs.Any(c => c.BaseAddress.AddressFamily == cidr.BaseAddress.AddressFamily))
            {
                problems.Add($"Node {name}: spec.podCIDRs[{i}] '{text}' is a second range of the same family; only the first is used");
                continue;
            }
            cidrs.Add(cidr);
        }

        // InternalIP before ExternalIP: nodes of one cluster reach each other on their internal addresses.
        var addresses = new List<IPAddress>();
        foreach (var type in (string[])["InternalIP", "ExternalIP"])
        {
            foreach (var entry in node.Status?.Addresses ?? [])
            {
                if (entry?.Type != type)
                    continue;
                if (IPAddress.TryParse(entry.Address, out var address))
                    addresses.Add(address);
                else
                    problems.Add($"Node {name}: status.addresses {type} '{entry.Address}' is not an IP address");
            }
        }
        var gateway = gatewayLabel is not null && node.Metadata?.Labels is { } labels
            && labels.TryGetValue(gatewayLabel, out var value) && value == "true";
        return new NodeAddressing(name, addresses, cidrs) { Gateway = gateway };
    }
}
