using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink;

/// <summary>NUD_* neighbour states (linux/neighbour.h).</summary>
[Flags]
public enum NeighborState : ushort
{
    None = 0,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>NTF_* neighbour flags (linux/neighbour.h).</summary>
[Flags]
public enum NeighborFlags : byte
{
    None = 0,
    Use = 0x01,

    /// <summary>On an FDB entry: the entry belongs to the device itself (a vxlan's own table), not to a bridge master.</summary>
    Self = 0x02,
    Master = 0x04,
    Proxy = 0x08,
    ExternallyLearned = 0x10,
    Offloaded = 0x20,
    Router = 0x80,
}

/// <summary>
/// An ARP (IPv4) or NDP (IPv6) entry: <see cref="Address"/> on link <see cref="LinkIndex"/> is at <see cref="Mac"/>.
/// A permanent entry is never probed or aged out, which is what an overlay's static entries need.
/// </summary>
public sealed record Neighbor
{
    public required int LinkIndex { get; init; }

    public required IPAddress Address { get; init; }

    /// <summary>The link-layer address; empty for an entry without one (an incomplete or failed resolution).</summary>
    public byte[] Mac { get; init; } = [];

    public NeighborState State { get; init; } = NeighborState.Permanent;

    public NeighborFlags Flags { get; init; }

    public AddressFamily Family => Address.AddressFamily;

    public string MacText => MacAddress.Format(Mac);

    public override string ToString() => $"{Address} lladdr {MacText} dev #{LinkIndex} {State}";
}

/// <summary>
/// A forwarding database entry: frames for <see cref="Mac"/> on device <see cref="LinkIndex"/> go to
/// <see cref="Destination"/>. On a vxlan device (with <see cref="NeighborFlags.Self"/>) the destination is the
/// remote tunnel endpoint's underlay address; the all-zeros MAC is the default entry for unknown destinations,
/// which may hold several destinations (added with <see cref="RtNetlink.FdbAppend"/>).
/// </summary>
public sealed record FdbEntry
{
    public required int LinkIndex { get; init; }

    public required byte[] Mac { get; init; }

    /// <summary>NDA_DST: the remote endpoint; null for an entry without one (a plain bridge port entry).</summary>
    public IPAddress? Destination { get; init; }

    /// <summary>What `bridge fdb ... permanent` sends: permanent, and never resolved (NUD_NOARP).</summary>
    public NeighborState State { get; init; } = NeighborState.Permanent | NeighborState.NoArp;

    public NeighborFlags Flags { get; init; } = NeighborFlags.Self;

    /// <summary>NDA_MASTER: the bridge an entry belongs to, when it is a bridge's; reported by the kernel.</summary>
    public int? MasterIndex { get; init; }

    public string MacText => MacAddress.Format(Mac);

    /// <summary>The all-zeros MAC: a vxlan device's default destination(s) for unknown and broadcast frames.</summary>
    public static byte[] AllZerosMac => new byte[6];

    public override string ToString()
        => Destination is null ? $"{MacText} dev #{LinkIndex} {State}" : $"{MacText} dev #{LinkIndex} dst {Destination} {State}";
}
