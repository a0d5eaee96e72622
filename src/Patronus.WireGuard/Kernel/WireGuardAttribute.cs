namespace Patronus.WireGuard.Kernel;

/// <summary>The "wireguard" generic netlink family's numbers (linux/wireguard.h, WG_GENL_VERSION 1).</summary>
internal static class WireGuardFamily
{
    internal const string Name = "wireguard";
    internal const byte Version = 1;
    internal const byte CommandGetDevice = 0;
    internal const byte CommandSetDevice = 1;
}

/// <summary>WGDEVICE_A_* and WGDEVICE_F_*.</summary>
internal static class DeviceAttribute
{
    internal const ushort IfIndex = 1;
    internal const ushort IfName = 2;
    internal const ushort PrivateKey = 3;
    internal const ushort PublicKey = 4;
    internal const ushort Flags = 5;
    internal const ushort ListenPort = 6;
    internal const ushort FirewallMark = 7;
    internal const ushort Peers = 8;

    internal const uint FlagReplacePeers = 1;
}

/// <summary>WGPEER_A_* and WGPEER_F_*.</summary>
internal static class PeerAttribute
{
    internal const ushort PublicKey = 1;
    internal const ushort PresharedKey = 2;
    internal const ushort Flags = 3;
    internal const ushort Endpoint = 4;
    internal const ushort PersistentKeepaliveInterval = 5;
    internal const ushort LastHandshakeTime = 6;
    internal const ushort ReceiveBytes = 7;
    internal const ushort TransmitBytes = 8;
    internal const ushort AllowedIPs = 9;
    internal const ushort ProtocolVersion = 10;

    internal const uint FlagRemoveMe = 1;
    internal const uint FlagReplaceAllowedIPs = 2;
    internal const uint FlagUpdateOnly = 4;
}

/// <summary>WGALLOWEDIP_A_*.</summary>
internal static class AllowedIPAttribute
{
    internal const ushort Family = 1;
    internal const ushort IPAddress = 2;
    internal const ushort CidrMask = 3;
}
