using System.Net;

namespace Patronus.Mesh.Announcements;

/// <summary>
/// A member's certificate: the cluster set's key vouches that this identity key speaks for this member, and for
/// these prefixes only. Operators issue one per cluster or site (<c>patronus mesh certify</c>); a member that
/// holds one can join by announcing alone, with no per-peer configuration anywhere.
/// </summary>
/// <param name="NotAfter">The certificate is refused after this instant (UTC).</param>
public sealed record MemberCertificate(string MemberId, byte[] IdentityKey, DateTimeOffset NotAfter, IReadOnlyList<IPNetwork> AuthorizedPrefixes)
{
    public bool Equals(MemberCertificate? other) =>
        other is not null && MemberId == other.MemberId && IdentityKey.AsSpan().SequenceEqual(other.IdentityKey)
        && NotAfter == other.NotAfter && AuthorizedPrefixes.SequenceEqual(other.AuthorizedPrefixes);

    public override int GetHashCode() => HashCode.Combine(MemberId, NotAfter);
}

/// <summary>
/// What one gateway of a member tells the others, signed with its identity key: where it listens, the WireGuard key
/// to reach it with, and the member's prefixes behind it. A member with several gateways (a cluster with two gateway
/// nodes) makes one announcement per gateway, each with its own key and its own sequence; they all announce the
/// member's prefixes, and a remote member routes them to one live gateway at a time.
/// </summary>
/// <param name="Sequence">Grows with every announcement a gateway makes (a restart included): a lower or equal one is a replay.</param>
/// <param name="Timestamp">When it was made; too old or too far ahead is refused.</param>
/// <param name="Gateway">Which of the member's gateways speaks: a DNS label (the Node's name; a site's own name).</param>
/// <param name="ProbePort">The UDP port this gateway answers liveness probes on (on its endpoints' addresses); 0 when it answers none.</param>
public sealed record Announcement(
    MemberCertificate Certificate,
    ulong Sequence,
    DateTimeOffset Timestamp,
    byte[] WireGuardKey,
    IReadOnlyList<IPEndPoint> Endpoints,
    IReadOnlyList<IPNetwork> Prefixes,
    string Gateway,
    int ProbePort = 0)
{
    public string MemberId => Certificate.MemberId;

    /// <summary>Who speaks: the member and its gateway. Replay state is kept per announcer.</summary>
    public Announcer Announcer => new(MemberId, Gateway);

    public bool Equals(Announcement? other) =>
        other is not null && Certificate.Equals(other.Certificate) && Sequence == other.Sequence && Timestamp == other.Timestamp
        && WireGuardKey.AsSpan().SequenceEqual(other.WireGuardKey) && Endpoints.SequenceEqual(other.Endpoints) && Prefixes.SequenceEqual(other.Prefixes)
        && Gateway == other.Gateway && ProbePort == other.ProbePort;

    public override int GetHashCode() => HashCode.Combine(Certificate, Sequence, Gateway);
}

/// <summary>One gateway of one member: what announces, and what a remote member keeps a WireGuard peer for.</summary>
public readonly record struct Announcer(string MemberId, string Gateway)
{
    public override string ToString() => $"{MemberId}/{Gateway}";
}
