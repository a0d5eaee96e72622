namespace Patronus.Netlink.Protocol;

/// <summary>One message inside a received datagram; <see cref="Payload"/> excludes the 16-byte header.</summary>
internal readonly ref struct NetlinkMessage
{
    public NetlinkMessage(ushort type, ushort flags, uint sequence, uint portId, ReadOnlySpan<byte> payload)
    {
        Type = type;
        Flags = flags;
        Sequence = sequence;
        PortId = portId;
        Payload = payload;
    }

    public ushort Type { get; }

    public ushort Flags { get; }

    public uint Sequence { get; }

    public uint PortId { get; }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The attributes after a fixed family header of <paramref name="fixedHeaderLength"/> bytes.</summary>
    public AttributeReader Attributes(int fixedHeaderLength)
        => new(Payload.Length > fixedHeaderLength ? Payload[NetlinkAlignment.Align(fixedHeaderLength)..] : default);
}

/// <summary>Walks the messages of one datagram (a multi-part dump packs several into one read).</summary>
internal ref struct NetlinkMessageReader
{
    private ReadOnlySpan<byte> _remaining;

    public NetlinkMessageReader(ReadOnlySpan<byte> datagram) => _remaining = datagram;

    public bool TryRead(out NetlinkMessage message)
    {
        if (_remaining.Length < NetlinkAlignment.HeaderLength)
        {
            message = default;
            return false;
        }

        var length = (int)HostOrder.ReadUInt32(_remaining);
        if (length < NetlinkAlignment.HeaderLength || length > _remaining.Length)
        {
            throw new InvalidDataException($"netlink message length {length} does not fit the {_remaining.Length} bytes left");
        }

        message = new NetlinkMessage(
            type: HostOrder.ReadUInt16(_remaining[4..]),
            flags: HostOrder.ReadUInt16(_remaining[6..]),
            sequence: HostOrder.ReadUInt32(_remaining[8..]),
            portId: HostOrder.ReadUInt32(_remaining[12..]),
            payload: _remaining[NetlinkAlignment.HeaderLength..length]);
        var next = NetlinkAlignment.Align(length);
        _remaining = next >= _remaining.Length ? default : _remaining[next..];
        return true;
    }
}

/// <summary>Walks a run of attributes; the type has NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off.</summary>
internal ref struct AttributeReader
{
    private ReadOnlySpan<byte> _remaining;

    public AttributeReader(ReadOnlySpan<byte> attributes) => _remaining = attributes;

    public bool TryRead(out ushort type, out ReadOnlySpan<byte> value)
    {
        if (_remaining.Length < NetlinkAlignment.AttributeHeaderLength)
        {
            type = 0;
            value = default;
            return false;
        }

        int length = HostOrder.ReadUInt16(_remaining);
        if (length < NetlinkAlignment.AttributeHeaderLength || length > _remaining.Length)
        {
            throw new InvalidDataException($"netlink attribute length {length} does not fit the {_remaining.Length} bytes left");
        }

        type = (ushort)(HostOrder.ReadUInt16(_remaining[2..]) & NetlinkAttributeFlags.TypeMask);
        value = _remaining[NetlinkAlignment.AttributeHeaderLength..length];
        var next = NetlinkAlignment.Align(length);
        _remaining = next >= _remaining.Length ? default : _remaining[next..];
        return true;
    }
}
