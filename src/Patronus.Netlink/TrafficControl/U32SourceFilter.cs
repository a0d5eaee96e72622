namespace Patronus.Netlink;

/// <summary>
/// A u32 filter as RTM_NEWTFILTER describes it, with what <see cref="RtNetlink.FilterAddU32Source"/> puts in it
/// decoded. The kernel lists one u32 filter as several entries (the priority's head, its hash table "800:", and a
/// key node "800::800" per rule); only key nodes carry a class and a selector.
/// </summary>
/// <param name="Protocol">The ethertype in host order (0x800 IPv4, 0x86dd IPv6).</param>
/// <param name="ClassId">The class the rule puts packets in (flowid); null for head and hash table entries.</param>
/// <param name="Source">
/// The source network when the selector is exactly a source match (consecutive keys from the header's source
/// address with a contiguous mask); null for any other selector, and for entries without one.
/// </param>
public sealed record U32SourceFilter(int LinkIndex, uint Parent, uint Handle, ushort Priority, ushort Protocol, uint? ClassId, IpPrefix? Source);
