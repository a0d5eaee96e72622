using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Datapath.Ebpf.Rules;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Ebpf.Maps;

/// <summary>
/// Keys and values of the maps in bpf/patronus_maps.h, byte for byte. Integers the programs compare or
/// index with are in host order (little-endian on every machine .NET runs this agent on; checked at load);
/// addresses and ports are in network order, as on the wire. Pure, pinned by byte-vector tests.
/// </summary>
internal static class MapEncoding
{
    /// <summary>Bump with PATRONUS_MAP_LAYOUT in patronus_maps.h whenever a layout below changes.</summary>
    public const int Layout = 2;

    public const int AddressSize = 16;
    public const int EndpointValueSize = 16;
    public const int PeerKeySize = 28;
    public const int PeerValueSize = 8;
    public const int PortKeySize = 16;
    public const int PortValueSize = 4;
    public const int CounterNameSize = 256;
    public const int DropCounterSize = 16;

    /// <summary>Bits of a peer_key before the address: rule set (32) and family (8).</summary>
    public const int PeerKeyHeaderBits = 40;

    /// <summary>Bits of a port_key before the port: rule set (32), port class (16) and protocol (8).</summary>
    public const int PortKeyHeaderBits = 56;

    public const byte PeerAnyPort = 1;

    /// <summary>struct address: IPv6 as is, IPv4 as ::ffff:a.b.c.d.</summary>
    public static byte[] Address(IPAddress address)
    {
        var mapped = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        var bytes = new byte[AddressSize];
        mapped.TryWriteBytes(bytes, out _);
        return bytes;
    }

    /// <summary>struct endpoint_policy; rule set 0 means not isolated in that direction.</summary>
    public static byte[] EndpointValue(EndpointRulesets rulesets)
    {
        var bytes = new byte[EndpointValueSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), rulesets.Ingress);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), rulesets.Egress);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), rulesets.IngressCounter);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), rulesets.EgressCounter);
        return bytes;
    }

    public static EndpointRulesets ReadEndpointValue(ReadOnlySpan<byte> value) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(value),
        BinaryPrimitives.ReadUInt32LittleEndian(value[4..]),
        BinaryPrimitives.ReadUInt32LittleEndian(value[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(value[12..]));

    /// <summary>struct peer_key: prefixlen, rule set, family (4 or 6), the prefix's address (4 or 16 bytes), padding.</summary>
    public static byte[] PeerKey(uint ruleset, PeerEntry entry)
    {
        var bytes = new byte[PeerKeySize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), (uint)(PeerKeyHeaderBits + entry.PrefixLength));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), ruleset);
        var v4 = entry.Family == AddressFamily.InterNetwork;
        bytes[8] = v4 ? (byte)4 : (byte)6;
        if (v4)
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(9), (uint)entry.Start);
        else
            BinaryPrimitives.WriteUInt128BigEndian(bytes.AsSpan(9), entry.Start);
        return bytes;
    }

    /// <summary>struct peer_value: the port class, and PEER_ANY_PORT when every port is admitted.</summary>
    public static byte[] PeerValue(PeerEntry entry)
    {
        var bytes = new byte[PeerValueSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), entry.PortClass);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), entry.AnyPort ? PeerAnyPort : 0u);
        return bytes;
    }

    /// <summary>struct port_key: prefixlen, rule set, port class, protocol number, port (network order), padding.</summary>
    public static byte[] PortKey(uint ruleset, PortEntry entry)
    {
        var bytes = new byte[PortKeySize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), (uint)(PortKeyHeaderBits + entry.PrefixLength));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), ruleset);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), entry.PortClass);
        bytes[10] = ProtocolNumber(entry.Protocol);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(11), (ushort)entry.Start);
        return bytes;
    }

    public static byte[] PortValue() => [1, 0, 0, 0];

    /// <summary>The rule set a peer_key or port_key belongs to (both hold it right after prefixlen).</summary>
    public static uint RulesetOfKey(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);

    public static byte[] Index(uint index)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, index);
        return bytes;
    }

    public static uint ReadIndex(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32LittleEndian(key);

    /// <summary>A drop counter's label, NUL-padded UTF-8.</summary>
    public static byte[] CounterName(string label)
    {
        var bytes = new byte[CounterNameSize];
        if (Encoding.UTF8.GetByteCount(label) >= CounterNameSize)
            throw new ArgumentException($"drop counter label '{label}' is longer than {CounterNameSize - 1} bytes");
        Encoding.UTF8.GetBytes(label, bytes);
        return bytes;
    }

    public static string ReadCounterName(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
    }

    /// <summary>Sums struct drop_counter over the per-CPU values a lookup of a per-CPU array returns (8-byte aligned each).</summary>
    public static (ulong Packets, ulong Bytes) SumDropCounter(ReadOnlySpan<byte> perCpu)
    {
        ulong packets = 0, bytes = 0;
        for (var offset = 0; offset + DropCounterSize <= perCpu.Length; offset += DropCounterSize)
        {
            packets += BinaryPrimitives.ReadUInt64LittleEndian(perCpu[offset..]);
            bytes += BinaryPrimitives.ReadUInt64LittleEndian(perCpu[(offset + 8)..]);
        }
        return (packets, bytes);
    }

    public static byte ProtocolNumber(Protocol protocol) => protocol switch
    {
        Protocol.Tcp => 6,
        Protocol.Udp => 17,
        Protocol.Sctp => 132,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown protocol"),
    };
}

/// <summary>What an endpoints map value holds: the rule set per direction (0: open) and the drop counter per direction.</summary>
internal readonly record struct EndpointRulesets(uint Ingress, uint Egress, uint IngressCounter, uint EgressCounter);
