using System.Net;

namespace Patronus.WireGuard;

/// <summary>
/// A change to a device: only what is set changes. <see cref="ReplacePeers"/> makes <see cref="Peers"/> the whole
/// peer list; without it the listed peers are added, updated or (with <see cref="PeerConfig.Remove"/>) removed.
/// </summary>
public sealed record DeviceConfig
{
    /// <summary>A secret: its ToString is redacted.</summary>
    public Key? PrivateKey { get; init; }

    public int? ListenPort { get; init; }

    /// <summary>0 clears the mark.</summary>
    public int? FirewallMark { get; init; }

    public bool ReplacePeers { get; init; }

    public IReadOnlyList<PeerConfig> Peers { get; init; } = [];

    internal void Validate()
    {
        if (PrivateKey is { Kind: not KeyKind.Private })
        {
            throw new ArgumentException($"{nameof(PrivateKey)} must be a private key, not a {PrivateKey.Kind.ToString().ToLowerInvariant()} key", nameof(PrivateKey));
        }

        if (ListenPort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(ListenPort), ListenPort, "listen port must be between 0 and 65535");
        }

        if (FirewallMark is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(FirewallMark), FirewallMark, "firewall mark must not be negative");
        }

        ArgumentNullException.ThrowIfNull(Peers, nameof(Peers));
        foreach (var peer in Peers)
        {
            ArgumentNullException.ThrowIfNull(peer, nameof(Peers));
            peer.Validate();
        }
    }
}

/// <summary>A change to one peer, found by its public key.</summary>
public sealed record PeerConfig
{
    public required Key PublicKey { get; init; }

    /// <summary>Removes the peer; everything else in this config is then ignored.</summary>
    public bool Remove { get; init; }

    /// <summary>Only change the peer if it exists already; never create it.</summary>
    public bool UpdateOnly { get; init; }

    /// <summary>A secret: its ToString is redacted. An all-zero key clears the peer's preshared key.</summary>
    public Key? PresharedKey { get; init; }

    public IPEndPoint? Endpoint { get; init; }

    /// <summary>Zero turns keepalives off; null leaves them as they are.</summary>
    public TimeSpan? PersistentKeepaliveInterval { get; init; }

    /// <summary>Makes <see cref="AllowedIPs"/> the peer's whole list instead of adding to it.</summary>
    public bool ReplaceAllowedIPs { get; init; }

    public IReadOnlyList<IPNetwork> AllowedIPs { get; init; } = [];

    /// <summary>The keepalive in whole seconds, as both protocols carry it.</summary>
    internal ushort? KeepaliveSeconds => PersistentKeepaliveInterval is { } interval ? (ushort)interval.TotalSeconds : null;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(PublicKey, nameof(PublicKey));
        if (PublicKey.Kind != KeyKind.Public)
        {
            throw new ArgumentException($"peer {nameof(PublicKey)} must be a public key, not a {PublicKey.Kind.ToString().ToLowerInvariant()} key", nameof(PublicKey));
        }

        if (PresharedKey is { Kind: not KeyKind.Preshared })
        {
            throw new ArgumentException($"{nameof(PresharedKey)} of peer {PublicKey} must be a preshared key", nameof(PresharedKey));
        }

        if (PersistentKeepaliveInterval is { } interval
            && (interval < TimeSpan.Zero || interval > TimeSpan.FromSeconds(ushort.MaxValue) || interval.Ticks % TimeSpan.TicksPerSecond != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(PersistentKeepaliveInterval), interval, $"keepalive of peer {PublicKey} must be whole seconds between 0 and 65535");
        }

        ArgumentNullException.ThrowIfNull(AllowedIPs, nameof(AllowedIPs));
    }
}
