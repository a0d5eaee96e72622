namespace Patronus.Netlink.Protocol;

/// <summary>rtnetlink message types (linux/rtnetlink.h) and the address families it uses.</summary>
internal static class RouteMessageType
{
    internal const ushort NewLink = 16;
    internal const ushort DeleteLink = 17;
    internal const ushort GetLink = 18;
    internal const ushort SetLink = 19;
    internal const ushort NewAddress = 20;
    internal const ushort DeleteAddress = 21;
    internal const ushort GetAddress = 22;
    internal const ushort NewRoute = 24;
    internal const ushort DeleteRoute = 25;
    internal const ushort GetRoute = 26;
    internal const ushort NewNeighbor = 28;
    internal const ushort DeleteNeighbor = 29;
    internal const ushort GetNeighbor = 30;
    internal const ushort NewRule = 32;
    internal const ushort DeleteRule = 33;
    internal const ushort GetRule = 34;
    internal const ushort NewQdisc = 36;
    internal const ushort DeleteQdisc = 37;
    internal const ushort GetQdisc = 38;
    internal const ushort NewFilter = 44;
    internal const ushort DeleteFilter = 45;
    internal const ushort GetFilter = 46;
}

internal static class Family
{
    internal const byte Unspecified = 0;
    internal const byte Inet = 2;
    internal const byte Bridge = 7;
    internal const byte Inet6 = 10;
}

/// <summary>The flag sets requests use.</summary>
internal static class RequestFlags
{
    internal const ushort Create = NetlinkFlags.Request | NetlinkFlags.Ack | NetlinkFlags.Create | NetlinkFlags.Exclusive;
    internal const ushort Replace = NetlinkFlags.Request | NetlinkFlags.Ack | NetlinkFlags.Create | NetlinkFlags.Replace;
    internal const ushort Append = NetlinkFlags.Request | NetlinkFlags.Ack | NetlinkFlags.Create | NetlinkFlags.Append;
    internal const ushort Change = NetlinkFlags.Request | NetlinkFlags.Ack;
    internal const ushort Get = NetlinkFlags.Request;
    internal const ushort Dump = NetlinkFlags.Request | NetlinkFlags.Dump;
}
