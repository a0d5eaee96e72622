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
/// What a member tells the others, signed with its identity key: where its gateways listen, the WireGuard key
/// to reach them with, and the prefixes behind them.
/// </summary>
/// <param name="Sequence">Grows with every announcement a member makes (a restart included): a lower or equal one is a replay.</param>
/// <param name="Timestamp">When it was made; too old or too far ahead is refused.</param>
public sealed record Announcement(
    MemberCertificate Certificate,
    ulong Sequence,
    DateTimeOffset Timestamp,
    byte[] WireGuardKey,
    IReadOnlyList<IPEndPoint> Endpoints,
    IReadOnlyList<IPNetwork> Prefixes)
{
    public string MemberId => Certificate.MemberId;

    public bool Equals(Announcement? other) =>
        other is not null && Certificate.Equals(other.Certificate) && Sequence == other.Sequence && Timestamp == other.Timestamp
        && WireGuardKey.AsSpan().SequenceEqual(other.WireGuardKey) && Endpoints.SequenceEqual(other.Endpoints) && Prefixes.SequenceEqual(other.Prefixes);

    public override int GetHashCode() => HashCode.Combine(Certificate, Sequence);
}
