namespace Patronus.Netlink.Protocol;

/// <summary>nlmsghdr types and flags from linux/netlink.h.</summary>
internal static class NetlinkMessageType
{
    internal const ushort Noop = 1;
    internal const ushort Error = 2;
    internal const ushort Done = 3;
}

internal static class NetlinkFlags
{
    internal const ushort Request = 0x1;
    internal const ushort Multi = 0x2;
    internal const ushort Ack = 0x4;
    internal const ushort Echo = 0x8;
    internal const ushort DumpInterrupted = 0x10;
    internal const ushort Dump = 0x300;
    internal const ushort Replace = 0x100;
    internal const ushort Exclusive = 0x200;
    internal const ushort Create = 0x400;
    internal const ushort Append = 0x800;

    // Flags on an NLMSG_ERROR reply.
    internal const ushort Capped = 0x100;
    internal const ushort AckTlvs = 0x200;
}

internal static class NetlinkAttributeFlags
{
    internal const ushort Nested = 0x8000;
    internal const ushort NetByteOrder = 0x4000;
    internal const ushort TypeMask = 0x3fff;
}

/// <summary>nlmsgerr attributes (enum nlmsgerr_attrs).</summary>
internal static class NetlinkErrorAttribute
{
    internal const ushort Message = 1;
}

internal static class NetlinkAlignment
{
    internal const int HeaderLength = 16;
    internal const int AttributeHeaderLength = 4;

    internal static int Align(int length) => (length + 3) & ~3;
}
