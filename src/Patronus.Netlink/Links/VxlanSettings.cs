using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink;

/// <summary>
/// A kernel vxlan device's tunnel settings: what <see cref="RtNetlink.LinkAddVxlan"/> creates and what
/// <see cref="Link.Vxlan"/> reads back. The defaults describe an overlay driven by static forwarding entries:
/// Linux's historical port 8472 (what flannel and Cilium use, not IANA's 4789), no learning, no group.
/// </summary>
public sealed record VxlanSettings
{
    /// <summary>The UDP port the Linux vxlan driver used before IANA assigned 4789; flannel and Cilium keep it.</summary>
    public const ushort LinuxPort = 8472;

    /// <summary>The largest VXLAN network identifier: the field is 24 bits wide.</summary>
    public const int MaxVni = 0xFFFFFF;

    /// <summary>The VXLAN network identifier (0 to <see cref="MaxVni"/>).</summary>
    public required int Vni { get; init; }

    /// <summary>The underlay source address of encapsulated packets; null lets the kernel pick per route.</summary>
    public IPAddress? Local { get; init; }

    /// <summary>The underlay device encapsulated packets leave through; null lets the routing table decide.</summary>
    public int? UnderlayIndex { get; init; }

    /// <summary>The UDP destination port (and listening port).</summary>
    public ushort Port { get; init; } = LinuxPort;

    /// <summary>
    /// Whether the device learns inner source MACs from received packets. Off for an overlay whose forwarding
    /// entries are programmed: a learned entry would compete with the programmed one.
    /// </summary>
    public bool Learning { get; init; }

    /// <summary>A multicast group (or a unicast default destination) for unknown destinations; null for none.</summary>
    public IPAddress? Group { get; init; }

    internal void Validate()
    {
        if (Vni is < 0 or > MaxVni)
        {
            throw new ArgumentOutOfRangeException(nameof(Vni), Vni, $"VXLAN VNI must be between 0 and {MaxVni}");
        }

        if (UnderlayIndex is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(UnderlayIndex), UnderlayIndex, "underlay interface index must be positive");
        }

        if (Port == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "VXLAN UDP port must not be 0");
        }

        CheckFamily(Local, nameof(Local));
        CheckFamily(Group, nameof(Group));
        if (Local is not null && Group is not null && Local.AddressFamily != Group.AddressFamily)
        {
            throw new ArgumentException($"VXLAN local address {Local} and group {Group} must be of one family", nameof(Group));
        }
    }

    private static void CheckFamily(IPAddress? address, string name)
    {
        if (address is not null && address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"VXLAN {name} address {address} is neither IPv4 nor IPv6", name);
        }
    }
}
