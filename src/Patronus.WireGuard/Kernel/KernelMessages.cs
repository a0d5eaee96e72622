using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Patronus.Netlink.Generic;
using Patronus.Netlink.Protocol;

namespace Patronus.WireGuard.Kernel;

/// <summary>
/// Encodes WG_CMD_GET_DEVICE and WG_CMD_SET_DEVICE and decodes the kernel's device messages (linux/wireguard.h).
/// Peers and allowed IPs are arrays: nested attributes whose own type is an index (the kernel ignores it; 0 as
/// wg(8) sends), each carrying NLA_F_NESTED as the family's policy requires of nested attributes.
/// </summary>
internal static class KernelMessages
{
    private const ushort Nested = NetlinkAttributeFlags.Nested;
    private const int SockaddrIn = 16;
    private const int SockaddrIn6 = 28;

    /// <summary>GET_DEVICE is dump-only (the kernel replies NLM_F_MULTI: a large device spans messages).</summary>
    public static void GetDevice(ref NetlinkMessageWriter writer, ushort familyId, uint sequence, string name)
    {
        GenericMessages.Begin(ref writer, familyId, RequestFlags.Dump, sequence, WireGuardFamily.CommandGetDevice, WireGuardFamily.Version);
        writer.WriteAttributeString(DeviceAttribute.IfName, name);
    }

    /// <summary>Where a SET_DEVICE split into several messages goes on: the next peer, and the next allowed IP of it.</summary>
    public struct SetCursor
    {
        public int Peer;
        public int AllowedIP;
        public bool Started;
    }

    /// <summary>
    /// Writes one SET_DEVICE message of at most <paramref name="budget"/> bytes and returns true while more
    /// are needed. The first message carries the device attributes (and REPLACE_PEERS); a later one names the
    /// device again and continues the peer list, a peer cut between messages continuing its allowed IPs
    /// without REPLACE_ALLOWEDIPS, so the kernel ends with the same state as one message would give.
    /// </summary>
    public static bool SetDevice(ref NetlinkMessageWriter writer, ushort familyId, uint sequence, string name, DeviceConfig config, ref SetCursor cursor, int budget)
    {
        GenericMessages.Begin(ref writer, familyId, RequestFlags.Change, sequence, WireGuardFamily.CommandSetDevice, WireGuardFamily.Version);
        writer.WriteAttributeString(DeviceAttribute.IfName, name);
        if (!cursor.Started)
        {
            cursor.Started = true;
            if (config.PrivateKey is { } privateKey)
            {
                writer.WriteAttribute(DeviceAttribute.PrivateKey, privateKey.Bytes);
            }

            if (config.ListenPort is { } port)
            {
                writer.WriteAttributeUInt16(DeviceAttribute.ListenPort, (ushort)port);
            }

            if (config.FirewallMark is { } mark)
            {
                writer.WriteAttributeUInt32(DeviceAttribute.FirewallMark, (uint)mark);
            }

            if (config.ReplacePeers)
            {
                writer.WriteAttributeUInt32(DeviceAttribute.Flags, DeviceAttribute.FlagReplacePeers);
            }
        }

        if (cursor.Peer >= config.Peers.Count)
        {
            return false;
        }

        var peers = writer.BeginNested(DeviceAttribute.Peers | Nested);
        while (cursor.Peer < config.Peers.Count)
        {
            var peer = config.Peers[cursor.Peer];
            var continuing = cursor.AllowedIP > 0;
            if (writer.Length + PeerHeadLength(peer, continuing) + AllowedIPLength > budget)
            {
                break;
            }

            var entry = writer.BeginNested(0 | Nested);
            WritePeerHead(ref writer, peer, continuing);
            if (!peer.Remove && cursor.AllowedIP < peer.AllowedIPs.Count)
            {
                var list = writer.BeginNested(PeerAttribute.AllowedIPs | Nested);
                // Room for this nest's end and the two enclosing ones is already counted in AllowedIPLength.
                while (cursor.AllowedIP < peer.AllowedIPs.Count && writer.Length + AllowedIPLength <= budget)
                {
                    WriteAllowedIP(ref writer, peer.AllowedIPs[cursor.AllowedIP]);
                    cursor.AllowedIP++;
                }

                writer.EndNested(list);
            }

            writer.EndNested(entry);
            if (peer.Remove || cursor.AllowedIP >= peer.AllowedIPs.Count)
            {
                cursor.Peer++;
                cursor.AllowedIP = 0;
            }
            else
            {
                break;
            }
        }

        writer.EndNested(peers);
        return cursor.Peer < config.Peers.Count;
    }

    // Nest header (4) + family (8) + address (20 for IPv6) + mask (8): the largest allowed IP entry.
    private const int AllowedIPLength = 4 + 8 + 20 + 8;

    private static int PeerHeadLength(PeerConfig peer, bool continuing)
        => 4 + 36 + 8 + (continuing ? 0 : 36 + 4 + SockaddrIn6 + 8) + 4;

    private static void WritePeerHead(ref NetlinkMessageWriter writer, PeerConfig peer, bool continuing)
    {
        writer.WriteAttribute(PeerAttribute.PublicKey, peer.PublicKey.Bytes);
        var flags = (peer.Remove ? PeerAttribute.FlagRemoveMe : 0)
            | (peer.UpdateOnly ? PeerAttribute.FlagUpdateOnly : 0)
            | (peer.ReplaceAllowedIPs && !continuing ? PeerAttribute.FlagReplaceAllowedIPs : 0);
        if (flags != 0)
        {
            writer.WriteAttributeUInt32(PeerAttribute.Flags, flags);
        }

        if (peer.Remove || continuing)
        {
            return;
        }

        if (peer.PresharedKey is { } psk)
        {
            writer.WriteAttribute(PeerAttribute.PresharedKey, psk.Bytes);
        }

        if (peer.Endpoint is { } endpoint)
        {
            Span<byte> sockaddr = stackalloc byte[SockaddrIn6];
            writer.WriteAttribute(PeerAttribute.Endpoint, WriteSockaddr(endpoint, sockaddr));
        }

        if (peer.KeepaliveSeconds is { } keepalive)
        {
            writer.WriteAttributeUInt16(PeerAttribute.PersistentKeepaliveInterval, keepalive);
        }
    }

    private static void WriteAllowedIP(ref NetlinkMessageWriter writer, IPNetwork network)
    {
        var entry = writer.BeginNested(0 | Nested);
        var v4 = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        writer.WriteAttributeUInt16(AllowedIPAttribute.Family, v4 ? (ushort)2 : (ushort)10);
        writer.WriteAttributeAddress(AllowedIPAttribute.IPAddress, network.BaseAddress);
        writer.WriteAttributeByte(AllowedIPAttribute.CidrMask, (byte)network.PrefixLength);
        writer.EndNested(entry);
    }

    /// <summary>struct sockaddr_in / sockaddr_in6: family in host order, port and address in network order.</summary>
    internal static ReadOnlySpan<byte> WriteSockaddr(IPEndPoint endpoint, Span<byte> buffer)
    {
        buffer.Clear();
        if (endpoint.AddressFamily == AddressFamily.InterNetwork)
        {
            HostOrder.WriteUInt16(buffer, 2);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)endpoint.Port);
            endpoint.Address.TryWriteBytes(buffer[4..], out _);
            return buffer[..SockaddrIn];
        }

        HostOrder.WriteUInt16(buffer, 10);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)endpoint.Port);
        endpoint.Address.TryWriteBytes(buffer[8..], out _);
        HostOrder.WriteUInt32(buffer[24..], (uint)endpoint.Address.ScopeId);
        return buffer[..SockaddrIn6];
    }

    internal static IPEndPoint? ReadSockaddr(ReadOnlySpan<byte> value)
    {
        if (value.Length < 2)
        {
            return null;
        }

        var family = HostOrder.ReadUInt16(value);
        if (family == 2 && value.Length >= SockaddrIn)
        {
            return new IPEndPoint(new IPAddress(value.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(value[2..]));
        }

        if (family == 10 && value.Length >= SockaddrIn6)
        {
            var address = new IPAddress(value.Slice(8, 16), HostOrder.ReadUInt32(value[24..]));
            return new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(value[2..]));
        }

        return null;
    }

    /// <summary>
    /// Folds one GET_DEVICE reply message into <paramref name="device"/>. A device with many peers spans several
    /// messages, and a peer with many allowed IPs may continue in the next one under the same public key.
    /// </summary>
    public static void ParseDevice(in NetlinkMessage message, DeviceBuilder device)
    {
        var attributes = message.Attributes(GenericMessages.HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case DeviceAttribute.IfName:
                    device.Name = AttributeValue.ReadString(value);
                    break;
                case DeviceAttribute.PrivateKey:
                    device.PrivateKey = Key.FromBytes(KeyKind.Private, value);
                    break;
                case DeviceAttribute.PublicKey:
                    device.PublicKey = Key.FromBytes(KeyKind.Public, value);
                    break;
                case DeviceAttribute.ListenPort:
                    device.ListenPort = HostOrder.ReadUInt16(value);
                    break;
                case DeviceAttribute.FirewallMark:
                    device.FirewallMark = (int)HostOrder.ReadUInt32(value);
                    break;
                case DeviceAttribute.Peers:
                    var peers = new AttributeReader(value);
                    while (peers.TryRead(out _, out var peer))
                    {
                        ParsePeer(peer, device);
                    }

                    break;
            }
        }
    }

    private static void ParsePeer(ReadOnlySpan<byte> attributes, DeviceBuilder device)
    {
        var reader = new AttributeReader(attributes);
        PeerBuilder? peer = null;
        while (reader.TryRead(out var type, out var value))
        {
            if (type == PeerAttribute.PublicKey)
            {
                var key = Key.FromBytes(KeyKind.Public, value);
                peer = device.Peers.Count > 0 && device.Peers[^1].PublicKey.Equals(key) ? device.Peers[^1] : device.AddPeer(key);
                continue;
            }

            if (peer is null)
            {
                throw new InvalidDataException("WireGuard peer attributes before the peer's public key");
            }

            switch (type)
            {
                case PeerAttribute.PresharedKey:
                    var psk = Key.FromBytes(KeyKind.Preshared, value);
                    peer.PresharedKey = psk.IsZero ? null : psk;
                    break;
                case PeerAttribute.Endpoint:
                    peer.Endpoint = ReadSockaddr(value);
                    break;
                case PeerAttribute.PersistentKeepaliveInterval:
                    peer.Keepalive = TimeSpan.FromSeconds(HostOrder.ReadUInt16(value));
                    break;
                case PeerAttribute.LastHandshakeTime:
                    // struct __kernel_timespec { s64 tv_sec; s64 tv_nsec; }
                    peer.LastHandshake = Userspace.HandshakeTime.FromUnix((long)HostOrder.ReadUInt64(value), (long)HostOrder.ReadUInt64(value[8..]));
                    break;
                case PeerAttribute.ReceiveBytes:
                    peer.ReceiveBytes = (long)HostOrder.ReadUInt64(value);
                    break;
                case PeerAttribute.TransmitBytes:
                    peer.TransmitBytes = (long)HostOrder.ReadUInt64(value);
                    break;
                case PeerAttribute.ProtocolVersion:
                    peer.ProtocolVersion = (int)HostOrder.ReadUInt32(value);
                    break;
                case PeerAttribute.AllowedIPs:
                    var list = new AttributeReader(value);
                    while (list.TryRead(out _, out var entry))
                    {
                        peer.AllowedIPs.Add(ParseAllowedIP(entry));
                    }

                    break;
            }
        }
    }

    private static IPNetwork ParseAllowedIP(ReadOnlySpan<byte> attributes)
    {
        var reader = new AttributeReader(attributes);
        IPAddress? address = null;
        var mask = 0;
        while (reader.TryRead(out var type, out var value))
        {
            if (type == AllowedIPAttribute.IPAddress)
            {
                address = new IPAddress(value);
            }
            else if (type == AllowedIPAttribute.CidrMask)
            {
                mask = value[0];
            }
        }

        return new IPNetwork(address ?? throw new InvalidDataException("WireGuard allowed IP without an address"), mask);
    }

    /// <summary>A device being assembled from the messages of one dump.</summary>
    internal sealed class DeviceBuilder
    {
        public string Name { get; set; } = "";

        public Key? PrivateKey { get; set; }

        public Key? PublicKey { get; set; }

        public int ListenPort { get; set; }

        public int FirewallMark { get; set; }

        public List<PeerBuilder> Peers { get; } = [];

        public PeerBuilder AddPeer(Key key)
        {
            var peer = new PeerBuilder(key);
            Peers.Add(peer);
            return peer;
        }

        public Device Build(DeviceType type) => new()
        {
            Name = Name,
            Type = type,
            PrivateKey = PrivateKey,
            PublicKey = PublicKey,
            ListenPort = ListenPort,
            FirewallMark = FirewallMark,
            Peers = Peers.Select(p => p.Build()).ToList(),
        };
    }

    internal sealed class PeerBuilder(Key publicKey)
    {
        public Key PublicKey { get; } = publicKey;

        public Key? PresharedKey { get; set; }

        public IPEndPoint? Endpoint { get; set; }

        public TimeSpan Keepalive { get; set; }

        public DateTimeOffset? LastHandshake { get; set; }

        public long ReceiveBytes { get; set; }

        public long TransmitBytes { get; set; }

        public int ProtocolVersion { get; set; }

        public List<IPNetwork> AllowedIPs { get; } = [];

        public Peer Build() => new()
        {
            PublicKey = PublicKey,
            PresharedKey = PresharedKey,
            Endpoint = Endpoint,
            PersistentKeepaliveInterval = Keepalive,
            LastHandshakeTime = LastHandshake,
            ReceiveBytes = ReceiveBytes,
            TransmitBytes = TransmitBytes,
            AllowedIPs = AllowedIPs,
            ProtocolVersion = ProtocolVersion,
        };
    }
}
