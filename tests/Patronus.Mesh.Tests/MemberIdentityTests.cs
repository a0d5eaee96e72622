using System.Net;
using NSec.Cryptography;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Key = NSec.Cryptography.Key;

namespace Patronus.Mesh.Tests;

public sealed class MemberIdentityTests : IDisposable
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly Key _setKey = Key.Create(Ed25519);
    private readonly string _folder = Path.Combine(Directory.CreateTempSubdirectory("patronus-identity-").FullName, "keys");

    public void Dispose()
    {
        _setKey.Dispose();
        Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);
    }

    private byte[] SetPublicKey => _setKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);

    private void WriteCertificate(Key signer, byte[] identityKey, string id = "cluster-a") =>
        File.WriteAllText(Path.Combine(_folder, MemberIdentity.CertificateFile), Convert.ToBase64String(
            ClusterSetAuthority.Certify(signer, new MemberCertificate(id, identityKey, DateTimeOffset.UtcNow.AddDays(1), [IPNetwork.Parse("10.244.0.0/16")]))));

    [Fact]
    public void Keys_AreCreatedOnce_InOwnerOnlyFiles_InAnOwnerOnlyFolder()
    {
        var first = MemberIdentity.EnsureKeys(_folder);
        var second = MemberIdentity.EnsureKeys(_folder);

        Assert.Equal(first, second);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_folder));
        foreach (var file in new[] { MemberIdentity.IdentityKeyFile, MemberIdentity.WireGuardKeyFile })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_folder, file)));
    }

    [Fact]
    public void CertifiedMember_Loads_AndSignsAnnouncementsItsPeersAccept()
    {
        WriteCertificate(_setKey, MemberIdentity.EnsureKeys(_folder));
        using var identity = MemberIdentity.Load(_folder, [SetPublicKey]);
        var announcement = new Announcement(identity.Certificate, 5, DateTimeOffset.UtcNow, identity.WireGuardPrivateKey.PublicKey().Bytes.ToArray(),
            [IPEndPoint.Parse("192.0.2.1:51820")], [IPNetwork.Parse("10.244.0.0/16")], "gw-1");

        var verdict = AnnouncementValidator.Validate(identity.Sign(announcement), DateTimeOffset.UtcNow,
            new MeshTrust([SetPublicKey], "cluster-b", [IPNetwork.Parse("10.248.0.0/16")]), new Dictionary<Announcer, MemberState>());

        Assert.True(verdict.Accepted is not null, verdict.Detail);
        Assert.Equal("member cluster-a", identity.ToString());
    }

    [Fact]
    public void MissingCertificate_SaysWhatToCertify_WithoutAnyPrivateKey()
    {
        var publicKey = MemberIdentity.EnsureKeys(_folder);

        var error = Assert.Throws<InvalidDataException>(() => MemberIdentity.Load(_folder, [SetPublicKey]));

        Assert.Contains(Convert.ToBase64String(publicKey), error.Message);
        foreach (var file in new[] { MemberIdentity.IdentityKeyFile, MemberIdentity.WireGuardKeyFile })
            Assert.DoesNotContain(File.ReadAllText(Path.Combine(_folder, file)).Trim(), error.Message);
    }

    [Fact]
    public void CertificateFromAnotherSet_IsRefusedAtStart()
    {
        using var otherSet = Key.Create(Ed25519);
        WriteCertificate(otherSet, MemberIdentity.EnsureKeys(_folder));

        var error = Assert.Throws<InvalidDataException>(() => MemberIdentity.Load(_folder, [SetPublicKey]));

        Assert.Contains("not signed by a trusted cluster-set key", error.Message);
    }

    [Fact]
    public void CertificateForAnotherIdentityKey_IsRefusedAtStart()
    {
        MemberIdentity.EnsureKeys(_folder);
        using var other = Key.Create(Ed25519);
        WriteCertificate(_setKey, other.PublicKey.Export(KeyBlobFormat.RawPublicKey));

        var error = Assert.Throws<InvalidDataException>(() => MemberIdentity.Load(_folder, [SetPublicKey]));

        Assert.Contains("another identity key", error.Message);
    }

    [Fact]
    public void IdentityKeyOthersCanRead_IsRefused()
    {
        WriteCertificate(_setKey, MemberIdentity.EnsureKeys(_folder));
        File.SetUnixFileMode(Path.Combine(_folder, MemberIdentity.IdentityKeyFile), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var error = Assert.Throws<UnauthorizedAccessException>(() => MemberIdentity.Load(_folder, [SetPublicKey]));

        Assert.Contains("chmod 600", error.Message);
    }
}
