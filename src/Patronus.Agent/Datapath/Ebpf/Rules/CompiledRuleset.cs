using System.Net.Sockets;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Ebpf.Rules;

/// <summary>
/// A peer prefix of one rule set: admitted on every port (<see cref="AnyPort"/>), or on the ports of
/// <see cref="PortClass"/>. <see cref="Start"/> is the prefix's first address as a number (32 or 128 bits).
/// </summary>
internal readonly record struct PeerEntry(AddressFamily Family, UInt128 Start, int PrefixLength, ushort PortClass, bool AnyPort);

/// <summary>A destination-port prefix (16-bit space) admitted for one port class and protocol.</summary>
internal readonly record struct PortEntry(ushort PortClass, Protocol Protocol, int Start, int PrefixLength);

/// <summary>What one endpoint admits in one direction, as the entries of the peer_rules and port_rules tries.</summary>
internal sealed record CompiledRuleset(IReadOnlyList<PeerEntry> Peers, IReadOnlyList<PortEntry> Ports)
{
    public int EntryCount => Peers.Count + Ports.Count;
}
