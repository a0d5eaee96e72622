using System.Net;
using System.Net.Sockets;

namespace Patronus.Netlink;

/// <summary>rtm_scope values (linux/rtnetlink.h).</summary>
public enum RouteScope : byte
{
    Universe = 0,
    Site = 200,
    Link = 253,
    Host = 254,
    Nowhere = 255,
}

/// <summary>rtm_protocol values: who installed the route.</summary>
public enum RouteProtocol : byte
{
    Unspecified = 0,
    Redirect = 1,
    Kernel = 2,
    Boot = 3,
    Static = 4,

    /// <summary>
    /// Routes and rules Patronus installs carry this number, so an agent can list the ones it owns and adopt them
    /// after a restart without touching anyone else's. Not in iproute2's rt_protos (which reserves up to 4 and
    /// names 8-18, 42, 99 and 186-192); `ip route show proto 77` finds them.
    /// </summary>
    Patronus = 77,

    /// <summary>Routes into the mesh's WireGuard device: owned by the mesh, apart from the routes between nodes (77).</summary>
    PatronusMesh = 78,
}

/// <summary>rtm_type values.</summary>
public enum RouteType : byte
{
    Unspecified = 0,
    Unicast = 1,
    Local = 2,
    Broadcast = 3,
    Anycast = 4,
    Multicast = 5,
    Blackhole = 6,
    Unreachable = 7,
    Prohibit = 8,
}

/// <summary>A route: destination 0.0.0.0/0 or ::/0 is the default route.</summary>
public sealed record Route
{
    public const int MainTable = 254;

    public required IpPrefix Destination { get; init; }

    public IPAddress? Gateway { get; init; }

    /// <summary>The output interface index; 0 lets the kernel pick one from the gateway.</summary>
    public int LinkIndex { get; init; }

    /// <summary>Null picks what iproute2 picks: link scope without a gateway, universe with one
    /// (and "any scope" when deleting).</summary>
    public RouteScope? Scope { get; init; }

    public int Table { get; init; } = MainTable;

    /// <summary>RTA_PRIORITY; null leaves the kernel's default (0 for IPv4, 1024 for IPv6).</summary>
    public int? Metric { get; init; }

    /// <summary>RTA_PREFSRC: the source address preferred for traffic using this route.</summary>
    public IPAddress? Source { get; init; }

    public RouteProtocol Protocol { get; init; } = RouteProtocol.Boot;

    public RouteType Type { get; init; } = RouteType.Unicast;

    /// <summary>
    /// RTNH_F_ONLINK: the gateway is on the output link even though no address of the link covers it (a node's
    /// neighbour reached over a shared segment, or a peer at the far end of a tunnel). Needs <see cref="LinkIndex"/>.
    /// </summary>
    public bool OnLink { get; init; }

    /// <summary>RTAX_MTU in RTA_METRICS: the path MTU for this route (for example an overlay's, below the link's).</summary>
    public int? Mtu { get; init; }

    /// <summary>RTAX_ADVMSS in RTA_METRICS: the TCP MSS advertised for connections over this route.</summary>
    public int? AdvertisedMss { get; init; }

    public AddressFamily Family => Destination.Family;

    public bool IsDefault => Destination.PrefixLength == 0;
}
