namespace Patronus.Netlink;

/// <summary>A pfifo or bfifo qdisc: where it sits and its limit (packets for pfifo, bytes for bfifo).</summary>
public sealed record FifoQdiscInfo(int LinkIndex, uint Handle, uint Parent, string Kind, uint Limit);
