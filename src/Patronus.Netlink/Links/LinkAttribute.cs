namespace Patronus.Netlink.Links;

/// <summary>IFLA_* numbers from linux/if_link.h and linux/veth.h.</summary>
internal static class LinkAttribute
{
    internal const ushort Address = 1;
    internal const ushort Name = 3;
    internal const ushort Mtu = 4;
    internal const ushort Link = 5;
    internal const ushort Master = 10;
    internal const ushort ProtocolInfo = 12;
    internal const ushort LinkInfo = 18;
    internal const ushort NetNsFd = 28;
    internal const ushort ExtendedMask = 29;
    internal const ushort LinkNetNsId = 37;

    internal const ushort InfoKind = 1;
    internal const ushort InfoData = 2;

    internal const ushort BridgeVlanFiltering = 7;
    internal const ushort BridgePortMode = 4;
    internal const ushort VethPeer = 1;
}

/// <summary>IFLA_VXLAN_* numbers from linux/if_link.h: the attributes inside IFLA_INFO_DATA of a vxlan link.</summary>
internal static class VxlanAttribute
{
    internal const ushort Id = 1;
    internal const ushort Group = 2;
    internal const ushort Link = 3;
    internal const ushort Local = 4;
    internal const ushort Learning = 7;
    internal const ushort Port = 15;
    internal const ushort Group6 = 16;
    internal const ushort Local6 = 17;
}

/// <summary>RTEXT_FILTER_* for IFLA_EXT_MASK (linux/rtnetlink.h).</summary>
internal static class ExtendedFilter
{
    /// <summary>Leaves out IFLA_STATS/IFLA_STATS64: most of a reply's size and of the kernel's work for it.</summary>
    internal const uint SkipStats = 1 << 3;
}

/// <summary>net_device_flags from linux/if.h.</summary>
internal static class InterfaceFlags
{
    internal const uint Up = 0x1;
    internal const uint Promiscuous = 0x100;
}
