namespace Patronus.Netlink.Protocol;

/// <summary>
/// Decodes an NLMSG_ERROR payload: struct nlmsgerr { int error; struct nlmsghdr msg; } followed, when
/// NLM_F_ACK_TLVS is set, by attributes. With NETLINK_CAP_ACK (NLM_F_CAPPED) only the original header is
/// echoed; otherwise the whole original request sits between the header and the attributes.
/// </summary>
internal static class NetlinkError
{
    /// <summary>Returns the positive errno (0 for an acknowledgement) and the kernel's text, if any.</summary>
    public static int Decode(in NetlinkMessage message, out string? kernelMessage)
    {
        kernelMessage = null;
        var payload = message.Payload;
        if (payload.Length < 4)
        {
            throw new InvalidDataException("netlink error message shorter than its error code");
        }

        var errno = -HostOrder.ReadInt32(payload);
        if ((message.Flags & NetlinkFlags.AckTlvs) == 0 || payload.Length < 4 + NetlinkAlignment.HeaderLength)
        {
            return errno;
        }

        var echoedLength = (message.Flags & NetlinkFlags.Capped) != 0
            ? NetlinkAlignment.HeaderLength
            : (int)HostOrder.ReadUInt32(payload[4..]);
        var attributesStart = 4 + NetlinkAlignment.Align(echoedLength);
        if (attributesStart >= payload.Length)
        {
            return errno;
        }

        kernelMessage = FindMessage(payload[attributesStart..]);
        return errno;
    }

    /// <summary>
    /// Decodes NLMSG_DONE: a dump that failed part-way puts its negative errno there, and with extended ack
    /// the attributes follow that int directly (no echoed request; netlink_dump_done).
    /// </summary>
    public static int DecodeDone(in NetlinkMessage message, out string? kernelMessage)
    {
        kernelMessage = null;
        var payload = message.Payload;
        if (payload.Length < 4)
        {
            return 0;
        }

        var errno = -HostOrder.ReadInt32(payload);
        if ((message.Flags & NetlinkFlags.AckTlvs) != 0 && payload.Length > 4)
        {
            kernelMessage = FindMessage(payload[4..]);
        }

        return errno;
    }

    private static string? FindMessage(ReadOnlySpan<byte> attributes)
    {
        var reader = new AttributeReader(attributes);
        while (reader.TryRead(out var type, out var value))
        {
            if (type == NetlinkErrorAttribute.Message)
            {
                return AttributeValue.ReadString(value);
            }
        }

        return null;
    }
}
