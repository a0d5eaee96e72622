namespace Patronus.Mesh.Announcements;

/// <summary>Why an announcement changed nothing. <see cref="RejectReasons.Label"/> names them in metrics and status.</summary>
public enum RejectReason
{
    /// <summary>Larger than <see cref="AnnouncementCodec.MaxSize"/>: refused before it is read.</summary>
    Oversized,

    /// <summary>Truncated, a bad magic or version, a length that does not add up, a field out of range.</summary>
    Malformed,

    /// <summary>The certificate is not signed by a cluster-set key this member trusts.</summary>
    UnknownKey,

    /// <summary>A signature (the certificate's or the announcement's) does not verify: forged or altered.</summary>
    BadSignature,

    /// <summary>The certificate's validity has ended.</summary>
    ExpiredCertificate,

    /// <summary>Older than the accepted age, or too far in the future.</summary>
    Stale,

    /// <summary>A sequence number not above the last one accepted from that member.</summary>
    Replayed,

    /// <summary>A prefix outside what the member's certificate authorizes.</summary>
    UnauthorizedPrefix,

    /// <summary>A prefix overlapping this cluster's ranges or another member's.</summary>
    OverlappingPrefix,

    /// <summary>Our own announcement came back (multicast loops it to the sender).</summary>
    OwnAnnouncement,
}

public static class RejectReasons
{
    /// <summary>The reason as metrics and status print it: <c>bad_signature</c> for <see cref="RejectReason.BadSignature"/>.</summary>
    public static string Label(RejectReason reason) =>
        string.Concat(reason.ToString().Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
