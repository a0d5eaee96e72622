using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Patronus.Mesh.Announcements;

/// <summary>
/// The announcement's wire format. Big-endian throughout; every variable part carries its count, and every
/// count has a ceiling, so a reader never allocates more than the datagram it was given.
/// <code>
/// announcement := "PTRN" version:u8=2 type:u8=1 length:u16 certificate-length:u16 certificate
///                 sequence:u64 timestamp-ms:i64 gateway-length:u8 gateway probe-port:u16
///                 wireguard-key:32 endpoint-count:u8 endpoint* prefix-count:u8 prefix*
///                 signature:64                       (the gateway's identity key over "patronus-announce-v1" || all before it)
/// certificate  := version:u8=1 id-length:u8 id identity-key:32 not-after-s:i64 prefix-count:u8 prefix*
///                 signature:64                       (a cluster-set key over "patronus-member-v1" || all before it)
/// endpoint     := family:u8 (4|6) address:4|16 port:u16
/// prefix       := family:u8 (4|6) length:u8 address:4|16
/// </code>
/// The whole announcement fits one unfragmented UDP datagram on any path with an MTU of 1280. Version 2 added the
/// gateway's name and probe port (a member may have several gateways); version 1 is refused as malformed, since a
/// member cannot be told apart from its gateways without them. The certificate is unchanged (version 1): certificates
/// already issued stay valid.
/// </summary>
public static class AnnouncementCodec
{
    public const int MaxSize = 1200;
    public const int MaxPrefixes = 16;
    public const int MaxEndpoints = 8;
    public const int MaxIdLength = 63;
    public const int KeySize = 32;
    public const int SignatureSize = 64;
    private const byte Version = 2;
    private const byte CertificateVersion = 1;
    private const byte TypeAnnouncement = 1;
    private static readonly byte[] Magic = "PTRN"u8.ToArray();

    /// <summary>Prepended to what is signed so that a signature over one kind of message never verifies another.</summary>
    public static ReadOnlySpan<byte> AnnouncementContext => "patronus-announce-v1"u8;

    public static ReadOnlySpan<byte> CertificateContext => "patronus-member-v1"u8;

    /// <summary>The certificate without its signature: what the cluster-set key signs (after <see cref="CertificateContext"/>).</summary>
    public static byte[] EncodeCertificateBody(MemberCertificate certificate)
    {
        CheckId(certificate.MemberId);
        CheckKey(certificate.IdentityKey, "identity key");
        CheckCount(certificate.AuthorizedPrefixes.Count, MaxPrefixes, "authorized prefixes");
        var writer = new Writer();
        writer.Byte(CertificateVersion);
        var id = Encoding.ASCII.GetBytes(certificate.MemberId);
        writer.Byte((byte)id.Length);
        writer.Bytes(id);
        writer.Bytes(certificate.IdentityKey);
        writer.Int64(certificate.NotAfter.ToUnixTimeSeconds());
        writer.Prefixes(certificate.AuthorizedPrefixes);
        return writer.ToArray();
    }

    public static byte[] EncodeCertificate(MemberCertificate certificate, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize)
            throw new ArgumentException($"a signature is {SignatureSize} bytes", nameof(signature));
        return [.. EncodeCertificateBody(certificate), .. signature];
    }

    /// <summary>The announcement without its signature: what the member's identity key signs (after <see cref="AnnouncementContext"/>).</summary>
    public static byte[] EncodeAnnouncementBody(Announcement announcement, ReadOnlySpan<byte> signedCertificate)
    {
        CheckKey(announcement.WireGuardKey, "WireGuard key");
        if (!IsMemberId(Encoding.UTF8.GetBytes(announcement.Gateway)))
            throw new ArgumentException($"gateway name '{announcement.Gateway}' is not a DNS label (1-{MaxIdLength} lower-case letters, digits and '-'): name the gateway after its Node or site", nameof(announcement));
        if (announcement.ProbePort is < 0 or > ushort.MaxValue)
            throw new ArgumentException($"probe port {announcement.ProbePort} is not a UDP port (0 for none)", nameof(announcement));
        CheckCount(announcement.Endpoints.Count, MaxEndpoints, "endpoints");
        CheckCount(announcement.Prefixes.Count, MaxPrefixes, "prefixes");
        var writer = new Writer();
        writer.Bytes(Magic);
        writer.Byte(Version);
        writer.Byte(TypeAnnouncement);
        writer.UInt16(0); // total length, patched below
        writer.UInt16((ushort)signedCertificate.Length);
        writer.Bytes(signedCertificate);
        writer.UInt64(announcement.Sequence);
        writer.Int64(announcement.Timestamp.ToUnixTimeMilliseconds());
        var gateway = Encoding.ASCII.GetBytes(announcement.Gateway);
        writer.Byte((byte)gateway.Length);
        writer.Bytes(gateway);
        writer.UInt16((ushort)announcement.ProbePort);
        writer.Bytes(announcement.WireGuardKey);
        writer.Byte((byte)announcement.Endpoints.Count);
        foreach (var endpoint in announcement.Endpoints)
        {
            writer.Address(endpoint.Address);
            writer.UInt16((ushort)endpoint.Port);
        }
        writer.Prefixes(announcement.Prefixes);
        var body = writer.ToArray();
        var total = body.Length + SignatureSize;
        if (total > MaxSize)
            throw new ArgumentException($"announcement of {total} bytes is over the {MaxSize}-byte limit", nameof(announcement));
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(6), (ushort)total);
        return body;
    }

    public static byte[] EncodeAnnouncement(ReadOnlySpan<byte> body, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize)
            throw new ArgumentException($"a signature is {SignatureSize} bytes", nameof(signature));
        return [.. body, .. signature];
    }

    /// <summary>An announcement as read, with the exact bytes each signature covers (verification is the validator's job).</summary>
    public sealed record Decoded(
        Announcement Announcement,
        byte[] CertificateBody,
        byte[] CertificateSignature,
        byte[] AnnouncementBody,
        byte[] AnnouncementSignature);

    /// <summary>Reads a datagram; null with a reason when it is not a well-formed announcement.</summary>
    public static Decoded? TryDecode(ReadOnlySpan<byte> datagram, out RejectReason reason, out string detail)
    {
        reason = RejectReason.Malformed;
        if (datagram.Length > MaxSize)
        {
            reason = RejectReason.Oversized;
            detail = $"{datagram.Length} bytes, over the {MaxSize}-byte limit";
            return null;
        }
        var reader = new Reader(datagram);
        try
        {
            if (!reader.Take(4).SequenceEqual(Magic))
                throw new FormatException("not a Patronus announcement (bad magic)");
            if (reader.Byte() is var version and not Version)
                throw new FormatException($"version {version}, expected {Version}");
            if (reader.Byte() is var type and not TypeAnnouncement)
                throw new FormatException($"message type {type}, expected {TypeAnnouncement}");
            if (reader.UInt16() != datagram.Length)
                throw new FormatException($"length field does not match the {datagram.Length}-byte datagram (truncated?)");
            var certificateLength = reader.UInt16();
            var certificateBytes = reader.Take(certificateLength);
            var (certificate, certificateBody, certificateSignature) = DecodeCertificate(certificateBytes);
            var sequence = reader.UInt64();
            var timestamp = DateTimeOffset.FromUnixTimeMilliseconds(Clamp(reader.Int64(), DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
            var gateway = reader.Take(reader.Count(MaxIdLength, "gateway name length"));
            if (!IsMemberId(gateway))
                throw new FormatException("gateway name is not a DNS label (lower-case letters, digits and '-')");
            var probePort = reader.UInt16();
            var wireGuardKey = reader.Take(KeySize).ToArray();
            var endpoints = new IPEndPoint[reader.Count(MaxEndpoints, "endpoints")];
            for (var i = 0; i < endpoints.Length; i++)
                endpoints[i] = new IPEndPoint(reader.Address(), reader.UInt16());
            var prefixes = reader.Prefixes();
            var bodyLength = datagram.Length - reader.Remaining;
            var signature = reader.Take(SignatureSize).ToArray();
            if (reader.Remaining != 0)
                throw new FormatException($"{reader.Remaining} bytes after the signature");
            detail = "";
            return new Decoded(
                new Announcement(certificate, sequence, timestamp, wireGuardKey, endpoints, prefixes, Encoding.ASCII.GetString(gateway), probePort),
                certificateBody, certificateSignature, datagram[..bodyLength].ToArray(), signature);
        }
        catch (FormatException e)
        {
            detail = e.Message;
            return null;
        }
    }

    /// <summary>Reads a signed certificate on its own (a member's certificate file); null with what is wrong.</summary>
    public static (MemberCertificate Certificate, byte[] Body, byte[] Signature)? TryDecodeCertificate(ReadOnlySpan<byte> bytes, out string detail)
    {
        try
        {
            detail = "";
            return DecodeCertificate(bytes);
        }
        catch (FormatException e)
        {
            detail = e.Message;
            return null;
        }
    }

    private static (MemberCertificate Certificate, byte[] Body, byte[] Signature) DecodeCertificate(ReadOnlySpan<byte> bytes)
    {
        var reader = new Reader(bytes);
        if (reader.Byte() is var version and not CertificateVersion)
            throw new FormatException($"certificate version {version}, expected {CertificateVersion}");
        var idLength = reader.Count(MaxIdLength, "member id length");
        var id = reader.Take(idLength);
        if (idLength == 0 || !IsMemberId(id))
            throw new FormatException("member id is not a DNS label (lower-case letters, digits and '-')");
        var identityKey = reader.Take(KeySize).ToArray();
        var notAfter = DateTimeOffset.FromUnixTimeSeconds(Clamp(reader.Int64(), DateTimeOffset.MinValue.ToUnixTimeSeconds(), DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        var prefixes = reader.Prefixes();
        var bodyLength = bytes.Length - reader.Remaining;
        var signature = reader.Take(SignatureSize).ToArray();
        if (reader.Remaining != 0)
            throw new FormatException($"{reader.Remaining} bytes after the certificate's signature");
        return (new MemberCertificate(Encoding.ASCII.GetString(id), identityKey, notAfter, prefixes), bytes[..bodyLength].ToArray(), signature);
    }

    /// <summary>A member id is a DNS label (RFC 1123), as a cluster id is: it names metrics, routes and DNS zones.</summary>
    public static bool IsMemberId(ReadOnlySpan<byte> id) =>
        id.Length is > 0 and <= MaxIdLength && id[0] != '-' && id[^1] != '-'
        && !id.ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-"u8);

    private static void CheckId(string id)
    {
        if (!IsMemberId(Encoding.UTF8.GetBytes(id)))
            throw new ArgumentException($"member id '{id}' is not a DNS label (1-{MaxIdLength} lower-case letters, digits and '-')");
    }

    private static void CheckKey(byte[] key, string what)
    {
        if (key.Length != KeySize)
            throw new ArgumentException($"{what} is {key.Length} bytes, expected {KeySize}");
    }

    private static void CheckCount(int count, int max, string what)
    {
        if (count > max)
            throw new ArgumentException($"{count} {what}, at most {max}");
    }

    private static long Clamp(long value, long min, long max) => Math.Min(Math.Max(value, min), max);

    private sealed class Writer
    {
        private readonly List<byte> _bytes = new(512);

        public void Byte(byte value) => _bytes.Add(value);

        public void Bytes(ReadOnlySpan<byte> value)
        {
            foreach (var b in value)
                _bytes.Add(b);
        }

        public void UInt16(ushort value)
        {
            Span<byte> buffer = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(buffer, value);
            Bytes(buffer);
        }

        public void UInt64(ulong value)
        {
            Span<byte> buffer = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
            Bytes(buffer);
        }

        public void Int64(long value) => UInt64((ulong)value);

        public void Address(IPAddress address)
        {
            Byte(address.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6);
            Bytes(address.GetAddressBytes());
        }

        public void Prefixes(IReadOnlyList<IPNetwork> prefixes)
        {
            Byte((byte)prefixes.Count);
            foreach (var prefix in prefixes)
            {
                Byte(prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6);
                Byte((byte)prefix.PrefixLength);
                Bytes(prefix.BaseAddress.GetAddressBytes());
            }
        }

        public byte[] ToArray() => [.. _bytes];
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        public readonly int Remaining => _rest.Length;

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count > _rest.Length)
                throw new FormatException($"truncated: {count} bytes needed, {_rest.Length} left");
            var taken = _rest[..count];
            _rest = _rest[count..];
            return taken;
        }

        public byte Byte() => Take(1)[0];

        public ushort UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

        public int Count(int max, string what)
        {
            var count = Byte();
            if (count > max)
                throw new FormatException($"{count} {what}, at most {max}");
            return count;
        }

        public IPAddress Address() => Byte() switch
        {
            4 => new IPAddress(Take(4)),
            6 => new IPAddress(Take(16)),
            var family => throw new FormatException($"address family {family}, expected 4 or 6"),
        };

        public IPNetwork[] Prefixes()
        {
            var prefixes = new IPNetwork[Count(MaxPrefixes, "prefixes")];
            for (var i = 0; i < prefixes.Length; i++)
            {
                var family = Byte();
                var length = Byte();
                var address = family switch
                {
                    4 => new IPAddress(Take(4)),
                    6 => new IPAddress(Take(16)),
                    _ => throw new FormatException($"prefix address family {family}, expected 4 or 6"),
                };
                if (length > (family == 4 ? 32 : 128))
                    throw new FormatException($"prefix length {length} is too long for IPv{family}");
                try
                {
                    prefixes[i] = new IPNetwork(address, length);
                }
                catch (ArgumentException)
                {
                    throw new FormatException($"prefix {address}/{length} has host bits set");
                }
            }
            return prefixes;
        }
    }
}
