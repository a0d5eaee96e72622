using System.Net;
using NSec.Cryptography;
using Patronus.Mesh.Announcements;

namespace Patronus.Mesh.Tests;

public sealed class AnnouncementValidatorTests : IDisposable
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly Key _setKey = Key.Create(Ed25519);
    private readonly Key _otherSetKey = Key.Create(Ed25519);
    private readonly Key _identity = Key.Create(Ed25519);
    private readonly MeshTrust _trust;

    public AnnouncementValidatorTests()
    {
        _trust = new MeshTrust([_setKey.PublicKey.Export(KeyBlobFormat.RawPublicKey)], "aws-us-west-2", [IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.96.0.0/12")]);
    }

    public void Dispose()
    {
        _setKey.Dispose();
        _otherSetKey.Dispose();
        _identity.Dispose();
    }

    private MemberCertificate Certificate(string id = "gcp-us-central1", params string[] prefixes) =>
        new(id, _identity.PublicKey.Export(KeyBlobFormat.RawPublicKey), Now.AddDays(30),
            (prefixes.Length == 0 ? ["10.248.0.0/16"] : prefixes).Select(IPNetwork.Parse).ToArray());

    private Announcement Announcement(MemberCertificate? certificate = null, ulong sequence = 10, DateTimeOffset? at = null, string gateway = "gw-1", params string[] prefixes) =>
        new(certificate ?? Certificate(), sequence, at ?? Now, new byte[32], [new IPEndPoint(IPAddress.Parse("192.0.2.7"), 51820)],
            (prefixes.Length == 0 ? ["10.248.0.0/16"] : prefixes).Select(IPNetwork.Parse).ToArray(), gateway, ProbePort: 51822);

    private static Dictionary<Announcer, MemberState> Members(params (string Member, string Gateway, ulong Sequence, string Prefix)[] states) =>
        states.ToDictionary(s => new Announcer(s.Member, s.Gateway), s => new MemberState(s.Sequence, [IPNetwork.Parse(s.Prefix)]));

    private byte[] Sign(Announcement announcement, Key? setKey = null, Key? identity = null)
    {
        var certificateBody = AnnouncementCodec.EncodeCertificateBody(announcement.Certificate);
        var certificate = AnnouncementCodec.EncodeCertificate(announcement.Certificate,
            Ed25519.Sign(setKey ?? _setKey, [.. AnnouncementCodec.CertificateContext, .. certificateBody]));
        var body = AnnouncementCodec.EncodeAnnouncementBody(announcement, certificate);
        return AnnouncementCodec.EncodeAnnouncement(body, Ed25519.Sign(identity ?? _identity, [.. AnnouncementCodec.AnnouncementContext, .. body]));
    }

    private AnnouncementVerdict Validate(byte[] datagram, IReadOnlyDictionary<Announcer, MemberState>? members = null) =>
        AnnouncementValidator.Validate(datagram, Now, _trust, members ?? new Dictionary<Announcer, MemberState>());

    [Fact]
    public void SignedByTheSetAndTheMember_IsAccepted()
    {
        var announcement = Announcement();
        var verdict = Validate(Sign(announcement));

        Assert.True(verdict.Reason is null, verdict.Detail);
        Assert.Equal(announcement, verdict.Accepted);
    }

    [Fact]
    public void CertificateSignedByAnotherSet_IsUnknownKey()
    {
        var verdict = Validate(Sign(Announcement(), setKey: _otherSetKey));

        Assert.Equal(RejectReason.UnknownKey, verdict.Reason);
        Assert.Null(verdict.Accepted);
    }

    [Fact]
    public void AnnouncementSignedByAnotherIdentity_IsBadSignature()
    {
        using var thief = Key.Create(Ed25519);
        Assert.Equal(RejectReason.BadSignature, Validate(Sign(Announcement(), identity: thief)).Reason);
    }

    [Fact]
    public void EveryAlteredByte_IsRejected()
    {
        var datagram = Sign(Announcement());
        for (var i = 0; i < datagram.Length; i++)
        {
            var copy = (byte[])datagram.Clone();
            copy[i] ^= 0x04;
            var verdict = Validate(copy);
            Assert.Null(verdict.Accepted);
            Assert.Contains(verdict.Reason, new RejectReason?[] { RejectReason.Malformed, RejectReason.UnknownKey, RejectReason.BadSignature });
        }
    }

    [Fact]
    public void CertificateWidenedAfterSigning_IsUnknownKey()
    {
        // A member that edits its own certificate to claim more than the set granted.
        var honest = Certificate();
        var body = AnnouncementCodec.EncodeCertificateBody(honest);
        var signature = Ed25519.Sign(_setKey, [.. AnnouncementCodec.CertificateContext, .. body]);
        var widened = AnnouncementCodec.EncodeCertificate(honest with { AuthorizedPrefixes = [IPNetwork.Parse("10.0.0.0/8")] }, signature);
        var announcement = Announcement(prefixes: "10.249.0.0/16");
        var annBody = AnnouncementCodec.EncodeAnnouncementBody(announcement, widened);
        var datagram = AnnouncementCodec.EncodeAnnouncement(annBody, Ed25519.Sign(_identity, [.. AnnouncementCodec.AnnouncementContext, .. annBody]));

        Assert.Equal(RejectReason.UnknownKey, Validate(datagram).Reason);
    }

    [Fact]
    public void SequenceNotAboveTheLastAccepted_IsReplayed()
    {
        var members = Members(("gcp-us-central1", "gw-1", 10, "10.248.0.0/16"));

        Assert.Equal(RejectReason.Replayed, Validate(Sign(Announcement(sequence: 10)), members).Reason);
        Assert.Equal(RejectReason.Replayed, Validate(Sign(Announcement(sequence: 9)), members).Reason);
        Assert.Null(Validate(Sign(Announcement(sequence: 11)), members).Reason);
    }

    [Fact]
    public void EachGatewayOfAMember_HasItsOwnSequence()
    {
        // gw-1 is far ahead of gw-2 (it started earlier): gw-2's lower sequence is not a replay of gw-1's.
        var members = Members(("gcp-us-central1", "gw-1", 1000, "10.248.0.0/16"), ("gcp-us-central1", "gw-2", 10, "10.248.0.0/16"));

        Assert.Null(Validate(Sign(Announcement(sequence: 11, gateway: "gw-2")), members).Reason);
        Assert.Equal(RejectReason.Replayed, Validate(Sign(Announcement(sequence: 10, gateway: "gw-2")), members).Reason);
        Assert.Equal(RejectReason.Replayed, Validate(Sign(Announcement(sequence: 11, gateway: "gw-1")), members).Reason);
        Assert.Null(Validate(Sign(Announcement(sequence: 5, gateway: "gw-3")), members).Reason);
    }

    [Fact]
    public void SecondGatewayOfAMember_AnnouncingTheSamePrefixes_IsNotAnOverlap()
    {
        var members = Members(("gcp-us-central1", "gw-1", 10, "10.248.0.0/16"));
        var verdict = Validate(Sign(Announcement(gateway: "gw-2")), members);

        Assert.True(verdict.Reason is null, verdict.Detail);
        Assert.Equal(new Announcer("gcp-us-central1", "gw-2"), verdict.Accepted!.Announcer);
    }

    [Fact]
    public void GatewayOfAnotherMember_AnnouncingOverlappingPrefixes_IsRefused()
    {
        // Same gateway name, another member: the name does not make the prefixes theirs.
        var members = Members(("onprem-dc1", "gw-1", 3, "10.248.128.0/17"));
        var verdict = Validate(Sign(Announcement(gateway: "gw-1")), members);

        Assert.Equal(RejectReason.OverlappingPrefix, verdict.Reason);
        Assert.Contains("onprem-dc1", verdict.Detail);
    }

    [Fact]
    public void TooOldOrTooFarAhead_IsStale()
    {
        Assert.Equal(RejectReason.Stale, Validate(Sign(Announcement(at: Now - TimeSpan.FromSeconds(121)))).Reason);
        Assert.Equal(RejectReason.Stale, Validate(Sign(Announcement(at: Now + TimeSpan.FromSeconds(31)))).Reason);
        Assert.Null(Validate(Sign(Announcement(at: Now - TimeSpan.FromSeconds(119)))).Reason);
    }

    [Fact]
    public void ExpiredCertificate_IsRejected()
    {
        var certificate = Certificate() with { NotAfter = Now.AddSeconds(-1) };
        Assert.Equal(RejectReason.ExpiredCertificate, Validate(Sign(Announcement(certificate))).Reason);
    }

    [Theory]
    [InlineData("10.249.0.0/16")]
    [InlineData("10.248.0.0/15")]
    [InlineData("fd00::/48")]
    public void PrefixOutsideTheCertificate_IsUnauthorized(string prefix)
    {
        Assert.Equal(RejectReason.UnauthorizedPrefix, Validate(Sign(Announcement(prefixes: prefix))).Reason);
    }

    [Fact]
    public void PrefixOverlappingOurOwn_IsRefused()
    {
        var certificate = Certificate(prefixes: "10.0.0.0/8");
        var verdict = Validate(Sign(Announcement(certificate, prefixes: "10.244.5.0/24")));

        Assert.Equal(RejectReason.OverlappingPrefix, verdict.Reason);
        Assert.Contains("10.244.0.0/16", verdict.Detail);
    }

    [Fact]
    public void PrefixOverlappingAnotherMembers_IsRefused()
    {
        var members = Members(("onprem-dc1", "dc1-gw", 3, "10.248.128.0/17"));
        var verdict = Validate(Sign(Announcement()), members);

        Assert.Equal(RejectReason.OverlappingPrefix, verdict.Reason);
        Assert.Contains("onprem-dc1", verdict.Detail);
    }

    [Fact]
    public void MemberMovingWithinItsOwnPrefixes_IsNotAnOverlap()
    {
        var members = Members(("gcp-us-central1", "gw-1", 3, "10.248.0.0/16"));
        Assert.Null(Validate(Sign(Announcement(prefixes: "10.248.0.0/17")), members).Reason);
    }

    [Fact]
    public void OurOwnAnnouncementLoopedBack_IsRecognised()
    {
        Assert.Equal(RejectReason.OwnAnnouncement, Validate(Sign(Announcement(Certificate("aws-us-west-2", "10.244.0.0/16"), prefixes: "10.244.0.0/16"))).Reason);
    }

    [Theory]
    [InlineData("gw-1")]
    [InlineData("gw-2")]
    public void AnotherGatewayOfOurOwnCluster_IsOurOwnAnnouncement(string gateway)
    {
        // Gateways of one cluster never peer with each other: the cluster's own ranges are behind both.
        Assert.Equal(RejectReason.OwnAnnouncement, Validate(Sign(Announcement(Certificate("aws-us-west-2", "10.244.0.0/16"), gateway: gateway, prefixes: "10.244.0.0/16"))).Reason);
    }

    [Fact]
    public void NoTrustedSetKey_TrustsNothing()
    {
        var verdict = AnnouncementValidator.Validate(Sign(Announcement()), Now, _trust with { SetKeys = [] }, new Dictionary<Announcer, MemberState>());
        Assert.Equal(RejectReason.UnknownKey, verdict.Reason);
    }
}
