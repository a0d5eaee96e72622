using System.Net;
using Patronus.Mesh.Announcements;

namespace Patronus.Mesh.Tests;

public class AnnouncementCodecTests
{
    private static readonly byte[] IdentityKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] WireGuardKey = Enumerable.Range(0x41, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] SignatureA = Enumerable.Repeat((byte)0xaa, 64).ToArray();
    private static readonly byte[] SignatureB = Enumerable.Repeat((byte)0xbb, 64).ToArray();

    private static readonly MemberCertificate Certificate = new("gcp", IdentityKey, DateTimeOffset.FromUnixTimeSeconds(0x01020304), [IPNetwork.Parse("10.248.0.0/16")]);

    private static readonly Announcement Sample = new(
        Certificate, Sequence: 7, Timestamp: DateTimeOffset.FromUnixTimeMilliseconds(0x0102030405),
        WireGuardKey, [new IPEndPoint(IPAddress.Parse("192.0.2.1"), 51820)], [IPNetwork.Parse("10.248.0.0/16"), IPNetwork.Parse("fd00::/48")],
        Gateway: "gw-a", ProbePort: 51822);

    [Fact]
    public void Certificate_IsPinnedByteForByte()
    {
        Assert.Equal(
            "01" + "03" + "676370" + Hex(IdentityKey) + "0000000001020304" + "01" + "04" + "10" + "0af80000",
            Convert.ToHexStringLower(AnnouncementCodec.EncodeCertificateBody(Certificate)));
    }

    [Fact]
    public void Announcement_IsPinnedByteForByte()
    {
        var certificate = AnnouncementCodec.EncodeCertificate(Certificate, SignatureA);
        var body = AnnouncementCodec.EncodeAnnouncementBody(Sample, certificate);
        var datagram = AnnouncementCodec.EncodeAnnouncement(body, SignatureB);

        var expected =
            "5054524e" + "02" + "01" + (datagram.Length).ToString("x4") + certificate.Length.ToString("x4") + Hex(certificate)
            + "0000000000000007" + "0000000102030405" + "04" + "67772d61" + "ca6e" + Hex(WireGuardKey)
            + "01" + "04" + "c0000201" + "ca6c"
            + "02" + "04" + "10" + "0af80000" + "06" + "30" + "fd000000000000000000000000000000"
            + Hex(SignatureB);
        Assert.Equal(expected, Convert.ToHexStringLower(datagram));
        Assert.Equal(278, datagram.Length);
    }

    [Fact]
    public void Decode_ReturnsWhatWasEncodedAndTheSignedBytes()
    {
        var certificate = AnnouncementCodec.EncodeCertificate(Certificate, SignatureA);
        var body = AnnouncementCodec.EncodeAnnouncementBody(Sample, certificate);
        var decoded = AnnouncementCodec.TryDecode(AnnouncementCodec.EncodeAnnouncement(body, SignatureB), out _, out var detail);

        Assert.NotNull(decoded);
        Assert.Equal("", detail);
        Assert.Equal(Sample, decoded!.Announcement);
        Assert.Equal(body, decoded.AnnouncementBody);
        Assert.Equal(SignatureB, decoded.AnnouncementSignature);
        Assert.Equal(AnnouncementCodec.EncodeCertificateBody(Certificate), decoded.CertificateBody);
        Assert.Equal(SignatureA, decoded.CertificateSignature);
    }

    [Fact]
    public void EveryTruncation_IsMalformedNeverAnException()
    {
        var datagram = AnnouncementCodec.EncodeAnnouncement(AnnouncementCodec.EncodeAnnouncementBody(Sample, AnnouncementCodec.EncodeCertificate(Certificate, SignatureA)), SignatureB);
        for (var length = 0; length < datagram.Length; length++)
        {
            Assert.Null(AnnouncementCodec.TryDecode(datagram.AsSpan(0, length), out var reason, out var detail));
            Assert.Equal(RejectReason.Malformed, reason);
            Assert.NotEqual("", detail);
        }
    }

    [Fact]
    public void EveryByteFlip_DecodesOrIsMalformed()
    {
        var datagram = AnnouncementCodec.EncodeAnnouncement(AnnouncementCodec.EncodeAnnouncementBody(Sample, AnnouncementCodec.EncodeCertificate(Certificate, SignatureA)), SignatureB);
        for (var i = 0; i < datagram.Length; i++)
        {
            foreach (var flip in (byte[])[0x01, 0x80, 0xff])
            {
                var copy = (byte[])datagram.Clone();
                copy[i] ^= flip;
                var decoded = AnnouncementCodec.TryDecode(copy, out var reason, out _);
                Assert.True(decoded is not null || reason == RejectReason.Malformed);
            }
        }
    }

    [Fact]
    public void Oversized_IsRefusedBeforeReading()
    {
        Assert.Null(AnnouncementCodec.TryDecode(new byte[AnnouncementCodec.MaxSize + 1], out var reason, out var detail));
        Assert.Equal(RejectReason.Oversized, reason);
        Assert.Contains("1201 bytes", detail);
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER")]
    [InlineData("-lead")]
    [InlineData("trail-")]
    [InlineData("a.b")]
    public void MemberIdThatIsNotADnsLabel_CannotBeEncoded(string id)
    {
        Assert.Throws<ArgumentException>(() => AnnouncementCodec.EncodeCertificateBody(Certificate with { MemberId = id }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Node-1")]
    [InlineData("-lead")]
    [InlineData("node.example")]
    public void GatewayNameThatIsNotADnsLabel_CannotBeEncoded(string gateway)
    {
        var error = Assert.Throws<ArgumentException>(() => AnnouncementCodec.EncodeAnnouncementBody(Sample with { Gateway = gateway }, AnnouncementCodec.EncodeCertificate(Certificate, SignatureA)));
        Assert.Contains("gateway name", error.Message);
    }

    [Fact]
    public void GatewayNameThatIsNotADnsLabel_IsMalformed()
    {
        var datagram = AnnouncementCodec.EncodeAnnouncement(AnnouncementCodec.EncodeAnnouncementBody(Sample, AnnouncementCodec.EncodeCertificate(Certificate, SignatureA)), SignatureB);
        var name = Convert.ToHexStringLower(datagram).IndexOf("67772d61", StringComparison.Ordinal) / 2;
        datagram[name] = (byte)'G';

        Assert.Null(AnnouncementCodec.TryDecode(datagram, out var reason, out var detail));
        Assert.Equal(RejectReason.Malformed, reason);
        Assert.Contains("gateway name", detail);
    }

    [Fact]
    public void Version1_IsMalformedWithTheVersionNamed()
    {
        var datagram = AnnouncementCodec.EncodeAnnouncement(AnnouncementCodec.EncodeAnnouncementBody(Sample, AnnouncementCodec.EncodeCertificate(Certificate, SignatureA)), SignatureB);
        datagram[4] = 1;

        Assert.Null(AnnouncementCodec.TryDecode(datagram, out var reason, out var detail));
        Assert.Equal(RejectReason.Malformed, reason);
        Assert.Contains("version 1, expected 2", detail);
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
