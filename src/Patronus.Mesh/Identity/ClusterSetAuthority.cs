using NSec.Cryptography;
using Patronus.Mesh.Announcements;

namespace Patronus.Mesh.Identity;

/// <summary>
/// The cluster set's signing key, held by its operator (not by any agent): it certifies each member's identity
/// key and the prefixes that member may announce. Agents only ever hold its public key.
/// </summary>
public static class ClusterSetAuthority
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    /// <summary>A signed certificate, as a member's <see cref="MemberIdentity.CertificateFile"/> holds it (base64 of these bytes).</summary>
    public static byte[] Certify(NSec.Cryptography.Key setKey, MemberCertificate certificate)
    {
        var body = AnnouncementCodec.EncodeCertificateBody(certificate);
        return AnnouncementCodec.EncodeCertificate(certificate, Ed25519.Sign(setKey, [.. AnnouncementCodec.CertificateContext, .. body]));
    }
}
