using System.Buffers.Binary;

namespace Patronus.Agent.Paths;

public enum ProbeKind : byte
{
    Request = 1,
    Reply = 2,
}

/// <summary>Why a datagram on the probe port was refused; the values name <c>patronus_path_probes_refused_total</c>'s reasons.</summary>
public enum ProbeRefusal
{
    /// <summary>Not exactly <see cref="ProbePacket.Size"/> bytes.</summary>
    WrongLength,
    BadMagic,
    UnsupportedVersion,
    BadKind,

    /// <summary>Flags other than 0 in version 1.</summary>
    BadFlags,

    /// <summary>A reply naming a path this prober does not probe, or coming from another address than the path's far end.</summary>
    UnknownPath,

    /// <summary>A reply to no probe still waiting (late, duplicated, or never sent).</summary>
    NotWaiting,

    /// <summary>A reply whose echoed send time is not the probe's.</summary>
    TimestampMismatch,

    /// <summary>A request sent to a prober, or a reply sent to a responder.</summary>
    WrongDirection,
}

/// <summary>
/// The probe and its echo, one UDP datagram of 24 bytes, every field in network byte order:
/// <code>
///  0      4  'P' 'P' 'R' 'B'    magic
///  4      1  version            1
///  5      1  kind               1 request, 2 reply
///  6      2  flags              0 (anything else is refused in version 1)
///  8      4  path id            the prober's number for the path; echoed unchanged
/// 12      4  sequence           per path, from the prober; echoed unchanged
/// 16      8  send timestamp     nanoseconds on the prober's monotonic clock; echoed unchanged
/// </code>
/// The responder turns a request into a reply by changing the kind byte only, so a reply is never larger than
/// its request (no amplification) and the far end needs no clock. Decoding checks every field before anything
/// is believed; a refused datagram yields a <see cref="ProbeRefusal"/>, never an exception.
/// </summary>
public readonly record struct ProbePacket(ProbeKind Kind, uint PathId, uint Sequence, ulong SentAtNanoseconds)
{
    public const int Size = 24;
    public const byte Version = 1;

    /// <summary>"PPRB": Patronus path probe.</summary>
    public static ReadOnlySpan<byte> Magic => "PPRB"u8;

    public void Write(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException($"a probe needs {Size} bytes", nameof(destination));
        Magic.CopyTo(destination);
        destination[4] = Version;
        destination[5] = (byte)Kind;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], PathId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], Sequence);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], SentAtNanoseconds);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        Write(bytes);
        return bytes;
    }

    /// <summary>Reads a datagram; false with the reason when it is not a well-formed version 1 probe or reply.</summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out ProbePacket packet, out ProbeRefusal refusal)
    {
        packet = default;
        refusal = default;
        if (datagram.Length != Size)
        {
            refusal = ProbeRefusal.WrongLength;
            return false;
        }
        if (!datagram[..4].SequenceEqual(Magic))
        {
            refusal = ProbeRefusal.BadMagic;
            return false;
        }
        if (datagram[4] != Version)
        {
            refusal = ProbeRefusal.UnsupportedVersion;
            return false;
        }
        var kind = (ProbeKind)datagram[5];
        if (kind is not (ProbeKind.Request or ProbeKind.Reply))
        {
            refusal = ProbeRefusal.BadKind;
            return false;
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(datagram[6..]) != 0)
        {
            refusal = ProbeRefusal.BadFlags;
            return false;
        }
        packet = new ProbePacket(kind, BinaryPrimitives.ReadUInt32BigEndian(datagram[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(datagram[12..]), BinaryPrimitives.ReadUInt64BigEndian(datagram[16..]));
        return true;
    }

    /// <summary>
    /// The reply to a request, in place: only the kind byte changes. False (and nothing changed) when the
    /// datagram is not a well-formed request.
    /// </summary>
    public static bool TryTurnIntoReply(Span<byte> datagram, out ProbeRefusal refusal)
    {
        if (!TryRead(datagram, out var packet, out refusal))
            return false;
        if (packet.Kind != ProbeKind.Request)
        {
            refusal = ProbeRefusal.WrongDirection;
            return false;
        }
        datagram[5] = (byte)ProbeKind.Reply;
        return true;
    }
}
