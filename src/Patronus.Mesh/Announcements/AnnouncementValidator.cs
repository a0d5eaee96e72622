using System.Net;
using NSec.Cryptography;
using static Patronus.Netlink.NetworkRanges;

namespace Patronus.Mesh.Announcements;

/// <summary>Whom this member trusts and what it owns: the input of every check that is not about the sender's history.</summary>
/// <param name="SetKeys">Raw Ed25519 public keys of the cluster sets this member belongs to: a certificate signed by one is trusted.</param>
/// <param name="OwnPrefixes">This member's own ranges (pod, service): nobody else may announce them.</param>
public sealed record MeshTrust(IReadOnlyList<byte[]> SetKeys, string OwnId, IReadOnlyList<IPNetwork> OwnPrefixes)
{
    /// <summary>How old an announcement may be. Members announce every few seconds; anything older is a replay of the past.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>How far ahead of our clock an announcement may be (clock skew between sites).</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>What has been accepted from one gateway of a member: its last sequence number and the prefixes it announced.</summary>
public sealed record MemberState(ulong LastSequence, IReadOnlyList<IPNetwork> Prefixes);

/// <summary>The outcome of one datagram.</summary>
public sealed record AnnouncementVerdict(Announcement? Accepted, RejectReason? Reason, string Detail, string? MemberId)
{
    public static AnnouncementVerdict Accept(Announcement announcement) => new(announcement, null, "", announcement.MemberId);

    public static AnnouncementVerdict Reject(RejectReason reason, string detail, string? memberId = null) => new(null, reason, detail, memberId);
}

/// <summary>
/// Decides whether a datagram may change anything. Pure: the mesh feeds it bytes, the clock and what it accepted
/// before, and applies an accepted announcement itself. Checks run cheapest-first, and nothing a sender says is
/// believed before the signatures that cover it have verified: the certificate against a trusted set key, then
/// the announcement against the key the certificate names. A member's gateways announce independently: replay state
/// is kept per gateway (each has its own sequence), and their prefixes are the member's, so they are never compared
/// with each other for overlap; a gateway of this member's own cluster is our own announcement (gateways of one
/// cluster never peer with each other).
/// </summary>
public static class AnnouncementValidator
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public static AnnouncementVerdict Validate(ReadOnlySpan<byte> datagram, DateTimeOffset now, MeshTrust trust, IReadOnlyDictionary<Announcer, MemberState> members)
    {
        if (AnnouncementCodec.TryDecode(datagram, out var reason, out var detail) is not { } decoded)
            return AnnouncementVerdict.Reject(reason, detail);
        var announcement = decoded.Announcement;
        var certificate = announcement.Certificate;
        var id = certificate.MemberId;

        // The certificate's signature first: until it verifies, even the member id is only a claim.
        var signer = trust.SetKeys.FirstOrDefault(key => Verifies(key, AnnouncementCodec.CertificateContext, decoded.CertificateBody, decoded.CertificateSignature));
        if (signer is null)
        {
            return trust.SetKeys.Count == 0
                ? AnnouncementVerdict.Reject(RejectReason.UnknownKey, "no cluster-set key is trusted")
                : AnnouncementVerdict.Reject(RejectReason.UnknownKey, $"certificate of '{id}' is not signed by a trusted cluster-set key (forged, altered, or from another set)");
        }
        if (!Verifies(certificate.IdentityKey, AnnouncementCodec.AnnouncementContext, decoded.AnnouncementBody, decoded.AnnouncementSignature))
            return AnnouncementVerdict.Reject(RejectReason.BadSignature, $"announcement of '{id}' does not verify with the identity key its certificate names (forged or altered)", id);
        if (id == trust.OwnId)
            return AnnouncementVerdict.Reject(RejectReason.OwnAnnouncement, "our own announcement", id);
        if (certificate.NotAfter < now)
            return AnnouncementVerdict.Reject(RejectReason.ExpiredCertificate, $"certificate of '{id}' expired at {certificate.NotAfter:O}", id);
        if (announcement.Timestamp < now - trust.MaxAge)
            return AnnouncementVerdict.Reject(RejectReason.Stale, $"announcement of '{id}' made at {announcement.Timestamp:O}, more than {trust.MaxAge.TotalSeconds:0} s ago", id);
        if (announcement.Timestamp > now + trust.MaxFutureSkew)
            return AnnouncementVerdict.Reject(RejectReason.Stale, $"announcement of '{id}' is dated {announcement.Timestamp:O}, more than {trust.MaxFutureSkew.TotalSeconds:0} s ahead of this clock", id);
        if (members.TryGetValue(announcement.Announcer, out var known) && announcement.Sequence <= known.LastSequence)
            return AnnouncementVerdict.Reject(RejectReason.Replayed, $"sequence {announcement.Sequence} of '{announcement.Announcer}' is not above the last accepted, {known.LastSequence}", id);

        foreach (var prefix in announcement.Prefixes)
        {
            if (!certificate.AuthorizedPrefixes.Any(allowed => Within(prefix, allowed)))
                return AnnouncementVerdict.Reject(RejectReason.UnauthorizedPrefix, $"'{id}' announces {prefix}, outside what its certificate authorizes ({string.Join(", ", certificate.AuthorizedPrefixes)})", id);
            if (FirstOverlap(trust.OwnPrefixes, prefix) is { } mine)
                return AnnouncementVerdict.Reject(RejectReason.OverlappingPrefix, $"'{id}' announces {prefix}, which overlaps this cluster's {mine}", id);
            foreach (var (other, state) in members)
            {
                if (other.MemberId != id && FirstOverlap(state.Prefixes, prefix) is { } theirs)
                    return AnnouncementVerdict.Reject(RejectReason.OverlappingPrefix, $"'{id}' announces {prefix}, which overlaps {theirs} of '{other.MemberId}'", id);
            }
        }
        for (var i = 0; i < announcement.Prefixes.Count; i++)
        {
            for (var j = i + 1; j < announcement.Prefixes.Count; j++)
            {
                if (Overlaps(announcement.Prefixes[i], announcement.Prefixes[j]))
                    return AnnouncementVerdict.Reject(RejectReason.OverlappingPrefix, $"'{id}' announces {announcement.Prefixes[i]} and {announcement.Prefixes[j]}, which overlap", id);
            }
        }
        return AnnouncementVerdict.Accept(announcement);
    }

    private static IPNetwork? FirstOverlap(IEnumerable<IPNetwork> ranges, IPNetwork prefix) =>
        ranges.Where(range => Overlaps(range, prefix)).Select(range => (IPNetwork?)range).FirstOrDefault();

    /// <summary>Whether a signed certificate (as a member's certificate file holds it) verifies with one of the set keys.</summary>
    public static bool CertificateVerifies(ReadOnlySpan<byte> signedCertificate, IReadOnlyList<byte[]> setKeys, out MemberCertificate? certificate, out string detail)
    {
        certificate = null;
        if (AnnouncementCodec.TryDecodeCertificate(signedCertificate, out detail) is not { } decoded)
            return false;
        if (!setKeys.Any(key => Verifies(key, AnnouncementCodec.CertificateContext, decoded.Body, decoded.Signature)))
        {
            detail = $"certificate of '{decoded.Certificate.MemberId}' is not signed by a trusted cluster-set key";
            return false;
        }
        certificate = decoded.Certificate;
        return true;
    }

    private static bool Verifies(byte[] publicKey, ReadOnlySpan<byte> context, byte[] body, byte[] signature)
    {
        if (!PublicKey.TryImport(Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return false;
        byte[] signed = [.. context, .. body];
        return Ed25519.Verify(key, signed, signature);
    }
}
