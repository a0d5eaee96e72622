using System.Net;
using System.Net.Sockets;
using Patronus.Policy.Compiled;

namespace Patronus.Cli.Lab;

/// <summary>A pod as the lab builds it: who it is, the addresses it must get and the node it runs on.</summary>
public sealed record LabPod(EndpointId Id, IReadOnlyList<IPAddress> Addresses, string Node);

/// <summary>One node namespace: the pod subnets its bridge serves (one per address family) and its underlay address.</summary>
public sealed record LabNode(string Name, int Index, IReadOnlyList<LabSubnet> Subnets, IPAddress UnderlayV4, IPAddress UnderlayV6);

/// <summary>A pod subnet on a node's bridge, with the gateway address the bridge takes.</summary>
public sealed record LabSubnet(IPNetwork Network, IPAddress Gateway);

/// <summary>
/// Where every node and pod of a lab goes. The addresses come from the manifests (status.podIP), so the
/// plan derives a subnet per node and family that holds the node's pods and none of the other nodes'
/// pods, leaving room for a gateway. Pure: no I/O, so the awkward cases are tested directly.
/// </summary>
public sealed class LabTopology
{
    /// <summary>The underlay joining node namespaces; link-scoped ranges no pod manifest is likely to use.</summary>
    public static readonly IPNetwork UnderlayV4 = IPNetwork.Parse("169.254.77.0/24");
    public static readonly IPNetwork UnderlayV6 = IPNetwork.Parse("fd7a:11ab::/64");

    private LabTopology(IReadOnlyList<LabNode> nodes, IReadOnlyList<LabPod> pods)
    {
        Nodes = nodes;
        Pods = pods;
    }

    public IReadOnlyList<LabNode> Nodes { get; }

    public IReadOnlyList<LabPod> Pods { get; }

    public LabNode NodeOf(LabPod pod) => Nodes.First(n => n.Name == pod.Node);

    /// <summary>The subnet on the pod's node that holds this address.</summary>
    public LabSubnet SubnetFor(LabPod pod, IPAddress address) =>
        NodeOf(pod).Subnets.First(s => s.Network.Contains(address));

    /// <exception cref="ArgumentException">The pods' addresses cannot be laid out on per-node subnets; the message names the pods.</exception>
    public static LabTopology Plan(IReadOnlyList<LabPod> pods)
    {
        if (pods.Count == 0)
            throw new ArgumentException("no pod with an address (status.podIP) to build a lab from");
        var seen = new Dictionary<IPAddress, LabPod>();
        foreach (var pod in pods)
            foreach (var address in pod.Addresses)
                if (!seen.TryAdd(address, pod))
                    throw new ArgumentException($"pods {seen[address].Id} and {pod.Id} both have address {address}");

        var nodeNames = pods.Select(p => p.Node).Distinct().Order(StringComparer.Ordinal).ToList();
        var nodes = new List<LabNode>();
        for (var i = 0; i < nodeNames.Count; i++)
        {
            var name = nodeNames[i];
            var own = pods.Where(p => p.Node == name).SelectMany(p => p.Addresses).ToList();
            var others = pods.Where(p => p.Node != name).SelectMany(p => p.Addresses).ToList();
            var subnets = new List<LabSubnet>();
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                var addresses = own.Where(a => a.AddressFamily == family).ToList();
                if (addresses.Count > 0)
                    subnets.Add(SubnetFor(name, addresses, others.Where(a => a.AddressFamily == family).ToList(), own));
            }
            nodes.Add(new LabNode(name, i, subnets, Nth(UnderlayV4, i + 1), Nth(UnderlayV6, i + 1)));
        }
        foreach (var node in nodes)
            foreach (var subnet in node.Subnets)
                if (subnet.Network.Contains(node.UnderlayV4) || subnet.Network.Contains(node.UnderlayV6))
                    throw new ArgumentException($"pod subnet {subnet.Network} of node {node.Name} overlaps the lab underlay {UnderlayV4}/{UnderlayV6}");
        return new LabTopology(nodes, pods);
    }

    private static LabSubnet SubnetFor(string node, List<IPAddress> addresses, List<IPAddress> others, List<IPAddress> used)
    {
        var bits = addresses[0].AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var preferred = bits == 32 ? 24 : 64;
        var common = addresses.Skip(1).Aggregate(bits, (length, a) => Math.Min(length, CommonPrefixLength(addresses[0], a)));
        // The widest subnet that still keeps every other node's pods out, starting from the usual /24 or /64
        // (or wider when one node's pods already span more), narrowing only as far as the other nodes force.
        for (var prefix = Math.Min(preferred, common); prefix <= common; prefix++)
        {
            var network = new IPNetwork(Mask(addresses[0], prefix), prefix);
            if (others.Any(network.Contains))
                continue;
            var gateway = FirstFreeHost(network, used);
            if (gateway is not null)
                return new LabSubnet(network, gateway);
        }
        throw new ArgumentException(
            $"node {node}: its pod addresses ({string.Join(", ", addresses)}) share no subnet that excludes the other nodes' pods and leaves room for a gateway; give each node its own pod range");
    }

    private static IPAddress? FirstFreeHost(IPNetwork network, List<IPAddress> used)
    {
        var bits = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var hostBits = bits - network.PrefixLength;
        // IPv4 keeps the network and broadcast addresses out; IPv6 keeps the subnet-router anycast (::0) out.
        var last = hostBits >= 20 ? 1 << 20 : (1 << hostBits) - (bits == 32 ? 2 : 1);
        for (var n = 1; n <= last; n++)
        {
            var candidate = Nth(network, n);
            if (!used.Contains(candidate))
                return candidate;
        }
        return null;
    }

    internal static IPAddress Nth(IPNetwork network, int n)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        var carry = n;
        for (var i = bytes.Length - 1; i >= 0 && carry != 0; i--)
        {
            var sum = bytes[i] + (carry & 0xff);
            bytes[i] = (byte)sum;
            carry = (carry >> 8) + (sum >> 8);
        }
        return new IPAddress(bytes);
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xff << (8 - keep));
        }
        return new IPAddress(bytes);
    }

    private static int CommonPrefixLength(IPAddress a, IPAddress b)
    {
        var x = a.GetAddressBytes();
        var y = b.GetAddressBytes();
        for (var i = 0; i < x.Length; i++)
        {
            var diff = x[i] ^ y[i];
            if (diff != 0)
                return i * 8 + System.Numerics.BitOperations.LeadingZeroCount((uint)diff) - 24;
        }
        return x.Length * 8;
    }
}
