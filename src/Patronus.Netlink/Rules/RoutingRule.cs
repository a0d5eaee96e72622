using System.Net.Sockets;

namespace Patronus.Netlink;

/// <summary>FR_ACT_* (linux/fib_rules.h): what a matching rule does.</summary>
public enum RuleAction : byte
{
    Unspecified = 0,
    ToTable = 1,
    Goto = 2,
    Nop = 3,
    Blackhole = 6,
    Unreachable = 7,
    Prohibit = 8,
}

/// <summary>
/// A policy routing rule: packets matching the selectors (firewall mark under a mask, source, destination) are
/// looked up in <see cref="Table"/>. Per-pod path steering marks a pod's packets and sends each mark to the
/// table of one path.
/// </summary>
public sealed record RoutingRule
{
    public required AddressFamily Family { get; init; }

    /// <summary>FRA_PRIORITY: lower runs first; null lets the kernel pick one below the last rule.</summary>
    public int? Priority { get; init; }

    public int Table { get; init; } = Route.MainTable;

    /// <summary>FRA_FWMARK: match packets whose mark, under <see cref="Mask"/>, equals this.</summary>
    public uint? Mark { get; init; }

    /// <summary>FRA_FWMASK: the bits of the mark that <see cref="Mark"/> compares; null compares all 32.</summary>
    public uint? Mask { get; init; }

    public IpPrefix? Source { get; init; }

    public IpPrefix? Destination { get; init; }

    /// <summary>FRA_PROTOCOL: who installed the rule; <see cref="RouteProtocol.Patronus"/> for ours.</summary>
    public RouteProtocol? Protocol { get; init; }

    public RuleAction Action { get; init; } = RuleAction.ToTable;

    public override string ToString()
    {
        var text = Priority is { } p ? $"{p}: " : "";
        text += Source is { } s ? $"from {s.Network()}" : "from all";
        text += Destination is { } d ? $" to {d.Network()}" : "";
        text += Mark is { } m ? (Mask is { } k ? $" fwmark 0x{m:x}/0x{k:x}" : $" fwmark 0x{m:x}") : "";
        return text + $" lookup {Table}";
    }
}
