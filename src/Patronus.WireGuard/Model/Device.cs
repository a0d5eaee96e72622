using System.Net;

namespace Patronus.WireGuard;

/// <summary>Which implementation runs a device, and so which control protocol reaches it.</summary>
public enum DeviceType
{
    /// <summary>The kernel module, through the generic netlink family "wireguard".</summary>
    Kernel,

    /// <summary>A userspace implementation (wireguard-go) through its UAPI socket.</summary>
    Userspace,
}

/// <summary>A WireGuard device as read back: its identity, listening port and peers with their counters.</summary>
public sealed record Device
{
    public required string Name { get; init; }

    public required DeviceType Type { get; init; }

    /// <summary>Null until one is configured. A secret: its ToString is redacted.</summary>
    public Key? PrivateKey { get; init; }

    public Key? PublicKey { get; init; }

    /// <summary>The UDP port; 0 when the device has none yet.</summary>
    public int ListenPort { get; init; }

    /// <summary>SO_MARK of the device's encrypted packets; 0 for none.</summary>
    public int FirewallMark { get; init; }

    public IReadOnlyList<Peer> Peers { get; init; } = [];
}

/// <summary>A peer of a device as read back.</summary>
public sealed record Peer
{
    public required Key PublicKey { get; init; }

    /// <summary>Null when the peer has none (WireGuard reports all zeros).</summary>
    public Key? PresharedKey { get; init; }

    /// <summary>Where the peer was last heard from (or was configured to be); null when unknown.</summary>
    public IPEndPoint? Endpoint { get; init; }

    /// <summary>Zero when off.</summary>
    public TimeSpan PersistentKeepaliveInterval { get; init; }

    /// <summary>The last completed handshake; null when there was none.</summary>
    public DateTimeOffset? LastHandshakeTime { get; init; }

    public long ReceiveBytes { get; init; }

    public long TransmitBytes { get; init; }

    public IReadOnlyList<IPNetwork> AllowedIPs { get; init; } = [];

    public int ProtocolVersion { get; init; }
}
