using System.Buffers.Binary;
using NSec.Cryptography;
using Patronus.Mesh.Announcements;

namespace Patronus.Agent.Services.Exchange;

/// <summary>What a sealed service message carries: a heartbeat (the sender is alive) or a service announcement's payload.</summary>
public enum ServiceMessageKind : byte
{
    Heartbeat = 1,
    Announcement = 2,
}

/// <summary>A message whose signature, certificate and age have been checked: who sent it, and what.</summary>
public sealed record OpenedServiceMessage(string MemberId, ServiceMessageKind Kind, DateTimeOffset Timestamp, byte[] Payload);

/// <summary>
/// The signed envelope of the service exchange between gateways. It carries the sender's member certificate (the cluster
/// set vouches for the sender's identity key and member id) and is signed with that identity key, like the mesh's
/// announcements, in a context of its own so neither can be replayed as the other.
/// <code>
/// envelope := "PSEV" version:u8=1 kind:u8 timestamp-ms:i64 certificate-length:u16 certificate
///             payload-length:u16 payload signature:64 (Ed25519 over "patronus-services-v1" and every byte before it)
/// </code>
/// Nothing is believed before the signature verifies; the member id comes from the certificate, never from the payload.
/// </summary>
public static class ServiceEnvelope
{
    /// <summary>The largest UDP payload over IPv4.</summary>
    public const int MaxSize = 65507;
    private const int SignatureSize = 64;
    private const byte Version = 1;
    private static readonly byte[] Magic = "PSEV"u8.ToArray();
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public static ReadOnlySpan<byte> Context => "patronus-services-v1"u8;

    /// <summary>The bytes to sign: everything but the signature.</summary>
    public static byte[] Body(ServiceMessageKind kind, DateTimeOffset timestamp, ReadOnlySpan<byte> signedCertificate, ReadOnlySpan<byte> payload)
    {
        if (signedCertificate.Length > ushort.MaxValue)
            throw new ArgumentException("a certificate is at most 65,535 bytes", nameof(signedCertificate));
        var size = Magic.Length + 2 + 8 + 2 + signedCertificate.Length + 2 + payload.Length;
        if (size + SignatureSize > MaxSize)
            throw new ArgumentException($"a service message is at most {MaxSize} bytes; this one would be {size + SignatureSize}", nameof(payload));
        var body = new byte[size];
        var span = body.AsSpan();
        Magic.CopyTo(span);
        span[4] = Version;
        span[5] = (byte)kind;
        BinaryPrimitives.WriteInt64BigEndian(span[6..], timestamp.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt16BigEndian(span[14..], (ushort)signedCertificate.Length);
        signedCertificate.CopyTo(span[16..]);
        var at = 16 + signedCertificate.Length;
        BinaryPrimitives.WriteUInt16BigEndian(span[at..], (ushort)payload.Length);
        payload.CopyTo(span[(at + 2)..]);
        return body;
    }

    /// <summary>The envelope: <paramref name="body"/> followed by its signature.</summary>
    public static byte[] Seal(byte[] body, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize)
            throw new ArgumentException($"a signature is {SignatureSize} bytes", nameof(signature));
        return [.. body, .. signature];
    }

    /// <summary>
    /// Opens a datagram: its format, the certificate's signature by one of <paramref name="setKeys"/>, the message's
    /// signature by the certificate's key, the certificate's expiry and the message's age. Null with the reason otherwise.
    /// </summary>
    public static OpenedServiceMessage? TryOpen(ReadOnlySpan<byte> datagram, IReadOnlyList<byte[]> setKeys, DateTimeOffset now, TimeSpan maxAge, out string problem)
    {
        problem = "";
        if (datagram.Length < 18 + SignatureSize || !datagram[..4].SequenceEqual(Magic))
        {
            problem = "not a service message (magic or size)";
            return null;
        }
        if (datagram[4] != Version)
        {
            problem = $"version {datagram[4]} is not known";
            return null;
        }
        var kind = (ServiceMessageKind)datagram[5];
        if (kind is not (ServiceMessageKind.Heartbeat or ServiceMessageKind.Announcement))
        {
            problem = $"kind {datagram[5]} is not known";
            return null;
        }
        var timestamp = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(BinaryPrimitives.ReadInt64BigEndian(datagram[6..]), -62135596800000L, 253402300799999L));
        int certificateLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[14..]);
        if (16 + certificateLength + 2 > datagram.Length - SignatureSize)
        {
            problem = "certificate-length runs past the end";
            return null;
        }
        var certificate = datagram.Slice(16, certificateLength);
        var at = 16 + certificateLength;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[at..]);
        if (at + 2 + payloadLength != datagram.Length - SignatureSize)
        {
            problem = "payload-length does not end where the signature begins";
            return null;
        }
        if (!AnnouncementValidator.CertificateVerifies(certificate, setKeys, out var member, out var detail))
        {
            problem = detail;
            return null;
        }
        var body = datagram[..^SignatureSize];
        if (!PublicKey.TryImport(Ed25519, member!.IdentityKey, KeyBlobFormat.RawPublicKey, out var key) || key is null
            || !Ed25519.Verify(key, [.. Context, .. body], datagram[^SignatureSize..]))
        {
            problem = $"message of '{member.MemberId}' does not verify with the identity key its certificate names (forged or altered)";
            return null;
        }
        if (member.NotAfter < now)
        {
            problem = $"certificate of '{member.MemberId}' expired at {member.NotAfter:O}";
            return null;
        }
        if (timestamp < now - maxAge || timestamp > now + maxAge)
        {
            problem = $"message of '{member.MemberId}' is dated {timestamp:O}, more than {maxAge.TotalSeconds:0} s from this clock";
            return null;
        }
        return new OpenedServiceMessage(member.MemberId, kind, timestamp, datagram.Slice(at + 2, payloadLength).ToArray());
    }
}
