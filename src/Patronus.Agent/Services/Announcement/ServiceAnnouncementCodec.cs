using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.Announcement;

/// <summary>A payload that is not a service announcement; the message names the field and why.</summary>
public sealed class ServiceAnnouncementFormatException(string message) : Exception(message);

/// <summary>
/// The service announcement's wire format. Big-endian; every variable part carries its count, every count and string
/// has a ceiling, and the whole is at most <see cref="MaxSize"/> bytes, so a reader never allocates more than it was given.
/// <code>
/// announcement := "PSVC" version:u8=1 length:u32 (all of it)
///                 cluster:str sequence:u64 namespace:str name:str export-created-ms:i64
///                 flags:u8 (bit 0 headless, bit 1 withdrawn; the other bits zero)
///                 affinity:u8 (0 None, 1 ClientIP) affinity-timeout-s:u32 (0 unless ClientIP)
///                 family-count:u8 family:u8* (4|6)
///                 port-count:u8 port*  endpoint-count:u16 endpoint*
/// port         := name:str protocol:u8 (1 TCP, 2 UDP, 3 SCTP) port:u16 target-port:u16 app-protocol:str
/// endpoint     := hostname:str address-count:u8 (1|2) address*
/// address      := family:u8 (4|6) 4|16 bytes
/// str          := length:u8 ASCII bytes
/// </code>
/// A withdrawn announcement has flags 2, affinity 0, timeout 0 and no families, ports or endpoints. ExternalName Services
/// are never announced (they are not exportable); an exporting cluster withdraws instead.
/// Hand-written rather than JSON: the bytes are what the mesh signs, so they must have one encoding, and a byte format
/// bounds every allocation before it is made.
/// </summary>
public static class ServiceAnnouncementCodec
{
    public const int MaxSize = 65535;
    public const int MaxPorts = 64;
    public const int MaxEndpoints = 1000;
    private const int HeaderSize = 9;
    private const byte Version = 1;
    private const byte FlagHeadless = 1;
    private const byte FlagWithdrawn = 2;
    private static readonly byte[] Magic = "PSVC"u8.ToArray();

    public static byte[] Encode(ServiceAnnouncement announcement)
    {
        Validate(announcement);
        var writer = new Writer();
        writer.Bytes(Magic);
        writer.Byte(Version);
        writer.UInt32(0); // length, patched below
        writer.String(announcement.ClusterId);
        writer.UInt64(announcement.Sequence);
        writer.String(announcement.Service.Namespace);
        writer.String(announcement.Service.Name);
        writer.Int64(announcement.ExportCreated.ToUnixTimeMilliseconds());
        var spec = announcement.Spec;
        writer.Byte(spec is null ? FlagWithdrawn : spec.Type == ExportedServiceType.Headless ? FlagHeadless : (byte)0);
        writer.Byte(spec?.SessionAffinity == SessionAffinity.ClientIP ? (byte)1 : (byte)0);
        writer.UInt32((uint)(spec?.EffectiveAffinityTimeoutSeconds ?? 0));
        var families = spec?.IpFamilies ?? [];
        writer.Byte((byte)families.Count);
        foreach (var family in families)
            writer.Byte(family == IpFamily.IPv4 ? (byte)4 : (byte)6);
        var ports = spec?.Ports ?? [];
        writer.Byte((byte)ports.Count);
        foreach (var port in ports)
        {
            writer.String(port.Name);
            writer.Byte(ProtocolCode(port.Protocol));
            writer.UInt16((ushort)port.Port);
            writer.UInt16((ushort)port.TargetPort);
            writer.String(port.AppProtocol ?? "");
        }
        writer.UInt16((ushort)announcement.Endpoints.Count);
        foreach (var endpoint in announcement.Endpoints)
        {
            writer.String(endpoint.Hostname ?? "");
            writer.Byte((byte)endpoint.Addresses.Count);
            foreach (var address in endpoint.Addresses)
            {
                writer.Byte(address.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6);
                writer.Bytes(address.GetAddressBytes());
            }
        }
        var bytes = writer.ToArray();
        if (bytes.Length > MaxSize)
            throw new ServiceAnnouncementFormatException($"announcement of {announcement.Service}: {bytes.Length} bytes, over the limit of {MaxSize} (too many endpoints)");
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(5), (uint)bytes.Length);
        return bytes;
    }

    /// <summary>Reads an announcement, or throws <see cref="ServiceAnnouncementFormatException"/> naming what is wrong.</summary>
    public static ServiceAnnouncement Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxSize)
            throw new ServiceAnnouncementFormatException($"size: {data.Length} bytes, over the limit of {MaxSize}");
        var reader = new Reader(data);
        if (data.Length < HeaderSize || !data[..4].SequenceEqual(Magic))
            throw new ServiceAnnouncementFormatException("magic: not a service announcement (expected \"PSVC\")");
        reader.Skip(4);
        var version = reader.Byte("version");
        if (version != Version)
            throw new ServiceAnnouncementFormatException($"version: {version} (expected {Version})");
        var length = reader.UInt32("length");
        if (length != data.Length)
            throw new ServiceAnnouncementFormatException($"length: says {length} bytes, got {data.Length}");

        var cluster = reader.String("cluster");
        var sequence = reader.UInt64("sequence");
        var ns = reader.String("namespace");
        var name = reader.String("name");
        var created = reader.Int64("export-created");
        if (created < 0 || created > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            throw new ServiceAnnouncementFormatException($"export-created: {created} ms is not a time between 1970 and 9999");
        var flags = reader.Byte("flags");
        if ((flags & ~(FlagHeadless | FlagWithdrawn)) != 0 || flags == (FlagHeadless | FlagWithdrawn))
            throw new ServiceAnnouncementFormatException($"flags: 0x{flags:x2} (expected 0, 1 headless or 2 withdrawn)");
        var affinityCode = reader.Byte("affinity");
        if (affinityCode > 1)
            throw new ServiceAnnouncementFormatException($"affinity: {affinityCode} (expected 0 None or 1 ClientIP)");
        var timeout = reader.UInt32("affinity-timeout");

        var familyCount = reader.Byte("family-count");
        var families = new List<IpFamily>();
        for (var i = 0; i < familyCount; i++)
        {
            var code = reader.Byte($"family {i}");
            families.Add(code switch
            {
                4 => IpFamily.IPv4,
                6 => IpFamily.IPv6,
                _ => throw new ServiceAnnouncementFormatException($"family {i}: {code} (expected 4 or 6)"),
            });
        }

        var portCount = reader.Byte("port-count");
        if (portCount > MaxPorts)
            throw new ServiceAnnouncementFormatException($"port-count: {portCount}, over the limit of {MaxPorts}");
        var ports = new List<ExportedPort>();
        for (var i = 0; i < portCount; i++)
        {
            var portName = reader.String($"port {i} name");
            var protocol = reader.Byte($"port {i} protocol") switch
            {
                1 => "TCP",
                2 => "UDP",
                3 => "SCTP",
                var other => throw new ServiceAnnouncementFormatException($"port {i} protocol: {other} (expected 1 TCP, 2 UDP or 3 SCTP)"),
            };
            var number = reader.UInt16($"port {i} port");
            var target = reader.UInt16($"port {i} target-port");
            var app = reader.String($"port {i} app-protocol");
            ports.Add(new ExportedPort(portName, protocol, number, app.Length == 0 ? null : app, target));
        }

        var endpointCount = reader.UInt16("endpoint-count");
        if (endpointCount > MaxEndpoints)
            throw new ServiceAnnouncementFormatException($"endpoint-count: {endpointCount}, over the limit of {MaxEndpoints}");
        var endpoints = new List<ReadyEndpoint>();
        for (var i = 0; i < endpointCount; i++)
        {
            var hostname = reader.String($"endpoint {i} hostname");
            var addressCount = reader.Byte($"endpoint {i} address-count");
            if (addressCount is < 1 or > 2)
                throw new ServiceAnnouncementFormatException($"endpoint {i} address-count: {addressCount} (expected 1 or 2)");
            var addresses = new List<IPAddress>();
            for (var j = 0; j < addressCount; j++)
            {
                var family = reader.Byte($"endpoint {i} address {j} family");
                var size = family switch
                {
                    4 => 4,
                    6 => 16,
                    _ => throw new ServiceAnnouncementFormatException($"endpoint {i} address {j} family: {family} (expected 4 or 6)"),
                };
                addresses.Add(new IPAddress(reader.Bytes(size, $"endpoint {i} address {j}")));
            }
            endpoints.Add(new ReadyEndpoint(addresses, hostname.Length == 0 ? null : hostname));
        }
        if (!reader.AtEnd)
            throw new ServiceAnnouncementFormatException($"length: {reader.Remaining} bytes after the last endpoint");

        ExportedServiceSpec? spec = null;
        if ((flags & FlagWithdrawn) == 0)
        {
            var affinity = affinityCode == 1 ? SessionAffinity.ClientIP : SessionAffinity.None;
            spec = new ExportedServiceSpec((flags & FlagHeadless) != 0 ? ExportedServiceType.Headless : ExportedServiceType.ClusterSetIP,
                ports, affinity, affinity == SessionAffinity.ClientIP ? (int)Math.Min(timeout, int.MaxValue) : null, families);
        }
        else if (affinityCode != 0 || timeout != 0)
            throw new ServiceAnnouncementFormatException("affinity: a withdrawn announcement carries none");
        var announcement = new ServiceAnnouncement(cluster, sequence, new ServiceKey(ns, name), DateTimeOffset.FromUnixTimeMilliseconds(created), spec, endpoints);
        try
        {
            Validate(announcement);
        }
        catch (ArgumentException e)
        {
            throw new ServiceAnnouncementFormatException(e.Message);
        }
        return announcement;
    }

    /// <summary>What both directions insist on, so an encoder cannot write what a decoder would refuse.</summary>
    private static void Validate(ServiceAnnouncement a)
    {
        Label(a.ClusterId, "cluster", required: true);
        Label(a.Service.Namespace, "namespace", required: true);
        Label(a.Service.Name, "name", required: true);
        if (a.ExportCreated.ToUnixTimeMilliseconds() < 0)
            throw new ArgumentException("export-created: before 1970");
        if (a.Spec is not { } spec)
        {
            if (a.Endpoints.Count > 0)
                throw new ArgumentException("endpoint-count: a withdrawn announcement carries no endpoints");
            return;
        }
        if (spec.Type == ExportedServiceType.ExternalName)
            throw new ArgumentException("type: an ExternalName Service is not exportable; withdraw it instead");
        if (spec.IpFamilies.Count is < 1 or > 2 || spec.IpFamilies.Distinct().Count() != spec.IpFamilies.Count)
            throw new ArgumentException($"family-count: {spec.IpFamilies.Count} families [{string.Join(",", spec.IpFamilies)}] (expected one or two distinct)");
        if (spec.Ports.Count > MaxPorts)
            throw new ArgumentException($"port-count: {spec.Ports.Count}, over the limit of {MaxPorts}");
        if (spec.SessionAffinity == SessionAffinity.ClientIP && spec.EffectiveAffinityTimeoutSeconds is < 1 or > 86400)
            throw new ArgumentException($"affinity-timeout: {spec.EffectiveAffinityTimeoutSeconds} s (Kubernetes allows 1 to 86400)");
        for (var i = 0; i < spec.Ports.Count; i++)
        {
            var port = spec.Ports[i];
            Label(port.Name, $"port {i} name", required: false);
            if (port.Protocol is not ("TCP" or "UDP" or "SCTP"))
                throw new ArgumentException($"port {i} protocol: '{port.Protocol}' (expected TCP, UDP or SCTP)");
            if (port.Port is < 1 or > 65535)
                throw new ArgumentException($"port {i} port: {port.Port} (expected 1 to 65535)");
            if (port.TargetPort is < 1 or > 65535)
                throw new ArgumentException($"port {i} target-port: {port.TargetPort} (expected 1 to 65535)");
            if (port.AppProtocol is { } app && (app.Length > 63 || !app.All(c => c is > ' ' and < (char)127)))
                throw new ArgumentException($"port {i} app-protocol: '{app}' (expected up to 63 printable ASCII characters)");
            for (var j = 0; j < i; j++)
            {
                if (spec.Ports[j].Name == port.Name || (spec.Ports[j].Protocol == port.Protocol && spec.Ports[j].Port == port.Port))
                    throw new ArgumentException($"port {i}: same name, or protocol and port, as port {j}");
            }
        }
        if (a.Endpoints.Count > MaxEndpoints)
            throw new ArgumentException($"endpoint-count: {a.Endpoints.Count}, over the limit of {MaxEndpoints}");
        for (var i = 0; i < a.Endpoints.Count; i++)
        {
            var endpoint = a.Endpoints[i];
            Label(endpoint.Hostname ?? "", $"endpoint {i} hostname", required: false);
            if (endpoint.Addresses.Count is < 1 or > 2 || endpoint.Addresses.Select(x => x.AddressFamily).Distinct().Count() != endpoint.Addresses.Count)
                throw new ArgumentException($"endpoint {i} address-count: {endpoint.Addresses.Count} (expected one address, or one of each family)");
            foreach (var address in endpoint.Addresses)
            {
                var family = address.AddressFamily == AddressFamily.InterNetwork ? IpFamily.IPv4 : IpFamily.IPv6;
                if (!spec.IpFamilies.Contains(family) || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
                    throw new ArgumentException($"endpoint {i} address {address}: not of the service's families [{string.Join(",", spec.IpFamilies)}]");
            }
        }
    }

    /// <summary>An RFC 1123 label (lower-case letters, digits, '-', not at either end), up to 63 characters.</summary>
    private static void Label(string value, string field, bool required)
    {
        if (value.Length == 0)
        {
            if (required)
                throw new ArgumentException($"{field}: empty");
            return;
        }
        if (value.Length > 63 || value[0] == '-' || value[^1] == '-' || !value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            throw new ArgumentException($"{field}: '{value}' is not a DNS label (lower-case letters, digits and '-', up to 63)");
    }

    private static byte ProtocolCode(string protocol) => protocol switch
    {
        "TCP" => 1,
        "UDP" => 2,
        _ => 3,
    };

    private sealed class Writer
    {
        private readonly List<byte> _bytes = [];

        public void Byte(byte value) => _bytes.Add(value);

        public void Bytes(ReadOnlySpan<byte> value) => _bytes.AddRange(value);

        public void UInt16(ushort value) => Span(2, s => BinaryPrimitives.WriteUInt16BigEndian(s, value));

        public void UInt32(uint value) => Span(4, s => BinaryPrimitives.WriteUInt32BigEndian(s, value));

        public void UInt64(ulong value) => Span(8, s => BinaryPrimitives.WriteUInt64BigEndian(s, value));

        public void Int64(long value) => Span(8, s => BinaryPrimitives.WriteInt64BigEndian(s, value));

        public void String(string value)
        {
            var bytes = Encoding.ASCII.GetBytes(value);
            Byte((byte)bytes.Length);
            Bytes(bytes);
        }

        public byte[] ToArray() => [.. _bytes];

        private void Span(int size, SpanAction write)
        {
            Span<byte> buffer = stackalloc byte[size];
            write(buffer);
            _bytes.AddRange(buffer);
        }

        private delegate void SpanAction(Span<byte> span);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position == _data.Length;

        public readonly int Remaining => _data.Length - _position;

        public void Skip(int count) => _position += count;

        public ReadOnlySpan<byte> Bytes(int count, string field)
        {
            if (Remaining < count)
                throw new ServiceAnnouncementFormatException($"{field}: truncated ({Remaining} of {count} bytes)");
            var span = _data.Slice(_position, count);
            _position += count;
            return span;
        }

        public byte Byte(string field) => Bytes(1, field)[0];

        public ushort UInt16(string field) => BinaryPrimitives.ReadUInt16BigEndian(Bytes(2, field));

        public uint UInt32(string field) => BinaryPrimitives.ReadUInt32BigEndian(Bytes(4, field));

        public ulong UInt64(string field) => BinaryPrimitives.ReadUInt64BigEndian(Bytes(8, field));

        public long Int64(string field) => BinaryPrimitives.ReadInt64BigEndian(Bytes(8, field));

        public string String(string field)
        {
            var length = Byte(field + " length");
            var bytes = Bytes(length, field);
            foreach (var b in bytes)
            {
                if (b is < 0x21 or > 0x7e)
                    throw new ServiceAnnouncementFormatException($"{field}: byte 0x{b:x2} is not printable ASCII");
            }
            return Encoding.ASCII.GetString(bytes);
        }
    }
}
