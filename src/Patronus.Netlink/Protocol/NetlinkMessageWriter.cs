using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Patronus.Netlink.Protocol;

/// <summary>
/// Writes one netlink message (header, fixed family struct, attributes) into a caller-owned buffer.
/// Netlink integers are in host byte order; a few values (u32 match keys, ports) are in network order
/// and have their own methods. Every attribute is padded to 4 bytes with zeros.
/// </summary>
internal ref struct NetlinkMessageWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public NetlinkMessageWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Length => _position;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    public void BeginMessage(ushort type, ushort flags, uint sequence)
    {
        _position = 0;
        var header = Reserve(NetlinkAlignment.HeaderLength);
        WriteHost(header[4..], type);
        WriteHost(header[6..], flags);
        WriteHost(header[8..], sequence);
        // nlmsg_pid stays 0: the kernel fills in the sender's port.
    }

    /// <summary>Sets nlmsg_len; the message is complete afterwards.</summary>
    public ReadOnlySpan<byte> EndMessage()
    {
        WriteHost(_buffer, (uint)_position);
        return Written;
    }

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteUInt16(ushort value) => WriteHost(Reserve(2), value);

    public void WriteUInt32(uint value) => WriteHost(Reserve(4), value);

    public void WriteInt32(int value) => WriteHost(Reserve(4), (uint)value);

    public void WriteUInt32BigEndian(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void WriteUInt16BigEndian(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    /// <summary>Pads the payload written so far to the next 4-byte boundary.</summary>
    public void Align() => Reserve(NetlinkAlignment.Align(_position) - _position);

    /// <summary>Returns <paramref name="length"/> zeroed bytes at the current position.</summary>
    public Span<byte> Reserve(int length)
    {
        var span = _buffer.Slice(_position, length);
        span.Clear();
        _position += length;
        return span;
    }

    public void WriteAttribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        var header = Reserve(NetlinkAlignment.AttributeHeaderLength);
        WriteHost(header, (ushort)(NetlinkAlignment.AttributeHeaderLength + value.Length));
        WriteHost(header[2..], type);
        value.CopyTo(Reserve(value.Length));
        Align();
    }

    public void WriteAttributeByte(ushort type, byte value) => WriteAttribute(type, [value]);

    public void WriteAttributeUInt16(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        WriteHost(bytes, value);
        WriteAttribute(type, bytes);
    }

    public void WriteAttributeUInt32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        WriteHost(bytes, value);
        WriteAttribute(type, bytes);
    }

    public void WriteAttributeUInt64(ushort type, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        HostOrder.WriteUInt64(bytes, value);

        WriteAttribute(type, bytes);
    }

    /// <summary>A NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING both accept it).</summary>
    public void WriteAttributeString(ushort type, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var header = Reserve(NetlinkAlignment.AttributeHeaderLength);
        WriteHost(header, (ushort)(NetlinkAlignment.AttributeHeaderLength + length + 1));
        WriteHost(header[2..], type);
        Encoding.UTF8.GetBytes(value, Reserve(length));
        Reserve(1);
        Align();
    }

    /// <summary>An IPv4 (4 bytes) or IPv6 (16 bytes) address in network order, as the kernel stores it.</summary>
    public void WriteAttributeAddress(ushort type, IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException($"address {address} cannot be encoded", nameof(address));
        }

        WriteAttribute(type, bytes[..written]);
    }

    /// <summary>Starts a nested attribute; pass the returned offset to <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        var start = _position;
        var header = Reserve(NetlinkAlignment.AttributeHeaderLength);
        WriteHost(header[2..], type);
        return start;
    }

    public void EndNested(int start) => WriteHost(_buffer[start..], (ushort)(_position - start));

    internal static byte AddressFamilyByte(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => 2,
        AddressFamily.InterNetworkV6 => 10,
        _ => throw new ArgumentException($"address family {family} is not IPv4 or IPv6", nameof(family)),
    };

    private static void WriteHost(Span<byte> destination, ushort value) => HostOrder.WriteUInt16(destination, value);

    private static void WriteHost(Span<byte> destination, uint value) => HostOrder.WriteUInt32(destination, value);
}
