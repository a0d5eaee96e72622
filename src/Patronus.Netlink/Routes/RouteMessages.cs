using System.Net;
using System.Net.Sockets;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Routes;

/// <summary>Encodes RTM_*ROUTE: struct rtmsg (12 bytes) followed by RTA_* attributes (linux/rtnetlink.h).</summary>
internal static class RouteMessages
{
    internal const int HeaderLength = 12;

    private const ushort AttributeDestination = 1;
    private const ushort AttributeOutputInterface = 4;
    private const ushort AttributeGateway = 5;
    private const ushort AttributePriority = 6;
    private const ushort AttributePreferredSource = 7;
    private const ushort AttributeMetrics = 8;
    private const ushort AttributeTable = 15;

    private const ushort MetricMtu = 2;
    private const ushort MetricAdvertisedMss = 8;

    private const uint FlagOnLink = 0x4;
    private const uint FlagCloned = 0x200;

    public static void Write(ref NetlinkMessageWriter writer, ushort type, ushort flags, uint sequence, Route route)
    {
        var deleting = type == RouteMessageType.DeleteRoute;
        writer.BeginMessage(type, flags, sequence);
        writer.WriteByte(NetlinkMessageWriter.AddressFamilyByte(route.Family));
        writer.WriteByte((byte)route.Destination.PrefixLength);
        writer.WriteByte(0); // rtm_src_len
        writer.WriteByte(0); // rtm_tos
        // Tables above 255 only fit RTA_TABLE; rtm_table then says RT_TABLE_UNSPEC.
        writer.WriteByte(route.Table is > 0 and < 256 ? (byte)route.Table : (byte)0);
        writer.WriteByte(deleting && route.Protocol == RouteProtocol.Boot ? (byte)0 : (byte)route.Protocol);
        writer.WriteByte((byte)(route.Scope ?? (deleting
            ? RouteScope.Nowhere // fib_table_delete: RT_SCOPE_NOWHERE matches any scope
            : route.Gateway is null && route.Type == RouteType.Unicast ? RouteScope.Link : RouteScope.Universe)));
        writer.WriteByte(deleting && route.Type == RouteType.Unicast ? (byte)0 : (byte)route.Type);
        writer.WriteUInt32(route.OnLink ? FlagOnLink : 0);

        if (route.Destination.PrefixLength > 0)
        {
            writer.WriteAttributeAddress(AttributeDestination, route.Destination.Network().Address);
        }

        if (route.Source is { } source)
        {
            writer.WriteAttributeAddress(AttributePreferredSource, source);
        }

        if (route.Gateway is { } gateway)
        {
            writer.WriteAttributeAddress(AttributeGateway, gateway);
        }

        if (route.LinkIndex > 0)
        {
            writer.WriteAttributeUInt32(AttributeOutputInterface, (uint)route.LinkIndex);
        }

        if (route.Metric is { } metric)
        {
            writer.WriteAttributeUInt32(AttributePriority, (uint)metric);
        }

        writer.WriteAttributeUInt32(AttributeTable, (uint)route.Table);

        // A delete matches on destination, table, tos and priority: metrics would only be compared, never needed.
        if (!deleting && (route.Mtu is not null || route.AdvertisedMss is not null))
        {
            // iproute2 sends RTA_METRICS without NLA_F_NESTED; the kernel reads it as nested either way.
            var metrics = writer.BeginNested(AttributeMetrics);
            if (route.Mtu is { } mtu)
            {
                writer.WriteAttributeUInt32(MetricMtu, (uint)mtu);
            }

            if (route.AdvertisedMss is { } mss)
            {
                writer.WriteAttributeUInt32(MetricAdvertisedMss, (uint)mss);
            }

            writer.EndNested(metrics);
        }
    }

    public static void Dump(ref NetlinkMessageWriter writer, uint sequence, byte family)
    {
        writer.BeginMessage(RouteMessageType.GetRoute, RequestFlags.Dump, sequence);
        writer.WriteByte(family);
        writer.Reserve(HeaderLength - 1);
    }

    /// <summary>Decodes one route; null for cached clones, which are not configuration.</summary>
    public static Route? Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < HeaderLength)
        {
            throw new InvalidDataException("RTM_NEWROUTE reply shorter than struct rtmsg");
        }

        var family = payload[0] == Family.Inet6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var destinationLength = payload[1];
        int table = payload[4];
        var protocol = payload[5];
        var scope = payload[6];
        var type = payload[7];
        var flags = HostOrder.ReadUInt32(payload[8..]);
        if ((flags & FlagCloned) != 0)
        {
            return null;
        }

        IPAddress? destination = null;
        IPAddress? gateway = null;
        IPAddress? source = null;
        var linkIndex = 0;
        int? metric = null;
        int? mtu = null;
        int? advertisedMss = null;
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var attribute, out var value))
        {
            switch (attribute)
            {
                case AttributeDestination:
                    destination = AttributeValue.ReadAddress(value);
                    break;
                case AttributeGateway:
                    gateway = AttributeValue.ReadAddress(value);
                    break;
                case AttributePreferredSource:
                    source = AttributeValue.ReadAddress(value);
                    break;
                case AttributeOutputInterface:
                    linkIndex = HostOrder.ReadInt32(value);
                    break;
                case AttributePriority:
                    metric = HostOrder.ReadInt32(value);
                    break;
                case AttributeTable:
                    table = HostOrder.ReadInt32(value);
                    break;
                case AttributeMetrics:
                    var metrics = new AttributeReader(value);
                    while (metrics.TryRead(out var metricType, out var metricValue))
                    {
                        if (metricType == MetricMtu)
                        {
                            mtu = HostOrder.ReadInt32(metricValue);
                        }
                        else if (metricType == MetricAdvertisedMss)
                        {
                            advertisedMss = HostOrder.ReadInt32(metricValue);
                        }
                    }

                    break;
            }
        }

        destination ??= family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        return new Route
        {
            Destination = new IpPrefix(destination, destinationLength),
            Gateway = gateway,
            LinkIndex = linkIndex,
            Scope = (RouteScope)scope,
            Table = table,
            Metric = metric,
            Source = source,
            Protocol = (RouteProtocol)protocol,
            Type = (RouteType)type,
            OnLink = (flags & FlagOnLink) != 0,
            Mtu = mtu,
            AdvertisedMss = advertisedMss,
        };
    }
}
