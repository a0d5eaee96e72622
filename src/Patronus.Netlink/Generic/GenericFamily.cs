namespace Patronus.Netlink;

/// <summary>
/// A generic netlink family as the controller (nlctrl) describes it: the message type its requests carry
/// (<see cref="Id"/>, assigned at registration, so it differs between kernels and must be looked up by name),
/// its version and the multicast groups it announces changes on.
/// </summary>
/// <param name="HeaderSize">The family's own fixed header after struct genlmsghdr (0 for most, WireGuard included).</param>
public sealed record GenericFamily(
    ushort Id,
    string Name,
    uint Version,
    uint HeaderSize,
    uint MaxAttribute,
    IReadOnlyDictionary<string, uint> MulticastGroups);
