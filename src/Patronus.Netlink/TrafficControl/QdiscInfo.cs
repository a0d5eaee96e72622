namespace Patronus.Netlink;

/// <summary>A queueing discipline as RTM_NEWQDISC describes it; <see cref="TokenBucket"/> is set for tbf.</summary>
public sealed record QdiscInfo(int LinkIndex, uint Handle, uint Parent, string Kind, TokenBucketParameters? TokenBucket);

/// <summary>A classifier as RTM_NEWTFILTER describes it.</summary>
/// <param name="Protocol">The ethertype in host order (ETH_P_ALL = 3, ETH_P_IP = 0x800).</param>
/// <param name="RedirectIndex">For a filter with a mirred action: the target device's index.</param>
public sealed record FilterInfo(int LinkIndex, uint Parent, uint Handle, string Kind, ushort Priority, ushort Protocol, int? RedirectIndex);
