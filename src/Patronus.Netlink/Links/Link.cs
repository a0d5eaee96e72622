namespace Patronus.Netlink;

/// <summary>A network device as RTM_NEWLINK describes it.</summary>
/// <param name="Kind">The IFLA_INFO_KIND: "bridge", "veth", "ifb", ...; empty for devices without one (lo, physical NICs).</param>
/// <param name="PeerIndex">IFLA_LINK: for a veth, the peer's index (in the namespace <paramref name="LinkNetnsId"/> names, if set).</param>
/// <param name="Flags">The net_device_flags (IFF_UP = 0x1, IFF_PROMISC = 0x100, IFF_LOWER_UP = 0x10000, ...).</param>
public sealed record Link(
    int Index,
    string Name,
    string Kind,
    int Mtu,
    byte[] Mac,
    bool IsUp,
    int? MasterIndex,
    int? PeerIndex,
    int? LinkNetnsId,
    uint Flags)
{
    /// <summary>For a vxlan link, its tunnel settings as the kernel reports them; null for other kinds.</summary>
    public VxlanSettings? Vxlan { get; init; }

    public bool IsPromiscuous => (Flags & 0x100) != 0;

    /// <summary>The MAC as "aa:bb:cc:dd:ee:ff".</summary>
    public string MacText => MacAddress.Format(Mac);
}
