using NSec.Cryptography;
using Patronus.Mesh.Announcements;
using Patronus.WireGuard;
using WireGuardKey = Patronus.WireGuard.Key;

namespace Patronus.Mesh.Identity;

/// <summary>
/// What a member (a cluster's gateways, or a site) proves itself with: its Ed25519 identity key, the certificate in
/// which the cluster set vouches for that key and its prefixes, and its WireGuard key. The two private keys live
/// in files of mode 0600 in the member's key folder (0700), created on first start; the certificate is issued by
/// the operator (<see cref="ClusterSetAuthority"/>) and is public. Nothing here is ever logged: <see cref="ToString"/>
/// names the member only.
/// </summary>
public sealed class MemberIdentity : IDisposable
{
    public const string IdentityKeyFile = "identity.key";
    public const string WireGuardKeyFile = "wireguard.key";
    public const string CertificateFile = "member.cert";

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly NSec.Cryptography.Key _identity;
    private readonly string _folder;

    private MemberIdentity(string folder, NSec.Cryptography.Key identity, WireGuardKey wireGuard, byte[] signedCertificate, MemberCertificate certificate)
    {
        _folder = folder;
        _identity = identity;
        WireGuardPrivateKey = wireGuard;
        SignedCertificate = signedCertificate;
        Certificate = certificate;
    }

    public MemberCertificate Certificate { get; }

    /// <summary>The certificate as the cluster set signed it: carried in every announcement.</summary>
    public byte[] SignedCertificate { get; }

    public string MemberId => Certificate.MemberId;

    public WireGuardKey WireGuardPrivateKey { get; private set; }

    /// <summary>When the WireGuard key was made (its file's time): rotation is due by this, across restarts.</summary>
    public DateTimeOffset WireGuardKeyCreated => File.GetLastWriteTimeUtc(Path.Combine(_folder, WireGuardKeyFile));

    /// <summary>
    /// Replaces the WireGuard key with a new one, on disk first (atomically, 0600) so that a crash right after leaves
    /// the key the device is about to use: a restarted agent then configures the device with it and announces it.
    /// </summary>
    public WireGuardKey RotateWireGuardKey()
    {
        var next = WireGuardKey.GeneratePrivate();
        KeyFile.Write(Path.Combine(_folder, WireGuardKeyFile), next);
        WireGuardPrivateKey = next;
        return next;
    }

    public byte[] IdentityPublicKey => _identity.PublicKey.Export(KeyBlobFormat.RawPublicKey);

    /// <summary>The identity public key of the key folder, creating the private keys if they are not there yet: what an operator certifies.</summary>
    public static byte[] EnsureKeys(string folder)
    {
        using var identity = LoadOrCreateIdentityKey(folder);
        LoadOrCreateWireGuardKey(folder);
        return identity.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>
    /// Loads the member's keys and certificate. The certificate must verify with one of <paramref name="setKeys"/> and
    /// name this folder's identity key: a certificate issued for another key would make every announcement fail
    /// at every peer, so it is refused here, at start, with the reason.
    /// </summary>
    /// <exception cref="InvalidDataException">The certificate is missing, malformed, not from a trusted set, or for another key.</exception>
    public static MemberIdentity Load(string folder, IReadOnlyList<byte[]> setKeys)
    {
        var identity = LoadOrCreateIdentityKey(folder);
        try
        {
            var wireGuard = LoadOrCreateWireGuardKey(folder);
            var path = Path.Combine(folder, CertificateFile);
            if (!File.Exists(path))
                throw new InvalidDataException($"no member certificate at {path}: have the cluster set's operator certify this member's identity key ({Convert.ToBase64String(identity.PublicKey.Export(KeyBlobFormat.RawPublicKey))})");
            byte[] signed;
            try
            {
                signed = Convert.FromBase64String(File.ReadAllText(path).Trim());
            }
            catch (FormatException)
            {
                throw new InvalidDataException($"member certificate {path} is not base64");
            }
            if (!AnnouncementValidator.CertificateVerifies(signed, setKeys, out var certificate, out var detail))
                throw new InvalidDataException($"member certificate {path}: {detail}");
            if (!certificate!.IdentityKey.AsSpan().SequenceEqual(identity.PublicKey.Export(KeyBlobFormat.RawPublicKey)))
                throw new InvalidDataException($"member certificate {path} was issued for another identity key than {Path.Combine(folder, IdentityKeyFile)}");
            return new MemberIdentity(folder, identity, wireGuard, signed, certificate);
        }
        catch
        {
            identity.Dispose();
            throw;
        }
    }

    /// <summary>Signs an announcement of this member: its certificate, then the body, with the identity key.</summary>
    public byte[] Sign(Announcement announcement)
    {
        if (announcement.MemberId != MemberId)
            throw new ArgumentException($"announcement of '{announcement.MemberId}' cannot be signed by '{MemberId}'", nameof(announcement));
        var body = AnnouncementCodec.EncodeAnnouncementBody(announcement, SignedCertificate);
        return AnnouncementCodec.EncodeAnnouncement(body, Ed25519.Sign(_identity, [.. AnnouncementCodec.AnnouncementContext, .. body]));
    }

    /// <summary>
    /// Signs another message of this member with the identity key, in its own <paramref name="context"/> (never the
    /// announcement's, so one kind of message cannot be passed off as the other): the service exchange's envelopes.
    /// </summary>
    public byte[] SignMessage(ReadOnlySpan<byte> context, ReadOnlySpan<byte> body)
    {
        if (context.SequenceEqual(AnnouncementCodec.AnnouncementContext) || context.SequenceEqual(AnnouncementCodec.CertificateContext))
            throw new ArgumentException("the announcement and certificate contexts are the mesh's own", nameof(context));
        return Ed25519.Sign(_identity, [.. context, .. body]);
    }

    public override string ToString() => $"member {MemberId}";

    public void Dispose() => _identity.Dispose();

    private static NSec.Cryptography.Key LoadOrCreateIdentityKey(string folder)
    {
        CreateFolder(folder);
        var path = Path.Combine(folder, IdentityKeyFile);
        if (!File.Exists(path))
        {
            using var created = NSec.Cryptography.Key.Create(Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
            KeyFile.WriteSecret(path, created.Export(KeyBlobFormat.RawPrivateKey));
        }
        var seed = KeyFile.ReadSecret(path, 32, "Ed25519 identity");
        try
        {
            return NSec.Cryptography.Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        }
        finally
        {
            Array.Clear(seed);
        }
    }

    private static WireGuardKey LoadOrCreateWireGuardKey(string folder)
    {
        var path = Path.Combine(folder, WireGuardKeyFile);
        if (!File.Exists(path))
            KeyFile.Write(path, WireGuardKey.GeneratePrivate());
        return KeyFile.Read(path, KeyKind.Private);
    }

    private static void CreateFolder(string folder)
    {
        if (!Directory.Exists(folder))
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
