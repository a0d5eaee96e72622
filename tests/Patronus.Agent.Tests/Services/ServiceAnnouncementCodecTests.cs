using System.Net;
using Patronus.Agent.Services.Announcement;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Tests.Services;

/// <summary>The service announcement's bytes, pinned; and every malformed payload refused with the field it breaks.</summary>
public sealed class ServiceAnnouncementCodecTests
{
    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly ServiceAnnouncement Exported = new(
        "east", 7, new ServiceKey("shop", "web"), Created,
        new ExportedServiceSpec(ExportedServiceType.ClusterSetIP, [new ExportedPort("http", "TCP", 80, "http", 8080)], SessionAffinity.ClientIP, 600, [IpFamily.IPv4]),
        [new ReadyEndpoint([IPAddress.Parse("10.1.0.1")], "web-0")]);

    private const string ExportedBytes =
        "50535643" + "01" + "0000004d" +             // "PSVC", version 1, 77 bytes
        "0465617374" +                               // cluster "east"
        "0000000000000007" +                         // sequence 7
        "0473686f70" + "03776562" +                  // namespace "shop", name "web"
        "0000019b76daa800" +                         // export created 2026-01-01T00:00:00Z in ms
        "00" + "01" + "00000258" +                   // flags: ClusterSetIP; affinity ClientIP, 600 s
        "01" + "04" +                                // one family: IPv4
        "01" + "0468747470" + "01" + "0050" + "1f90" + "0468747470" + // one port: "http" TCP 80 -> 8080, app-protocol "http"
        "0001" + "057765622d30" + "01" + "04" + "0a010001"; // one endpoint: "web-0", 10.1.0.1

    private static readonly ServiceAnnouncement Withdrawn = new("east", 8, new ServiceKey("shop", "web"), Created, null, []);

    private const string WithdrawnBytes =
        "50535643" + "01" + "00000031" + "0465617374" + "0000000000000008" + "0473686f70" + "03776562" + "0000019b76daa800" +
        "02" + "00" + "00000000" + "00" + "00" + "0000";

    [Fact]
    public void Encode_Exported_IsPinned() => Assert.Equal(ExportedBytes, Convert.ToHexStringLower(ServiceAnnouncementCodec.Encode(Exported)));

    [Fact]
    public void Encode_Withdrawn_IsPinned() => Assert.Equal(WithdrawnBytes, Convert.ToHexStringLower(ServiceAnnouncementCodec.Encode(Withdrawn)));

    [Fact]
    public void Decode_PinnedBytes_GivesTheAnnouncementBack()
    {
        var decoded = ServiceAnnouncementCodec.Decode(Convert.FromHexString(ExportedBytes));

        Assert.Equal(("east", 7ul, new ServiceKey("shop", "web"), Created), (decoded.ClusterId, decoded.Sequence, decoded.Service, decoded.ExportCreated));
        var spec = decoded.Spec!;
        Assert.Equal((ExportedServiceType.ClusterSetIP, SessionAffinity.ClientIP, 600), (spec.Type, spec.SessionAffinity, spec.AffinityTimeoutSeconds));
        Assert.Equal([IpFamily.IPv4], spec.IpFamilies);
        Assert.Equal(new ExportedPort("http", "TCP", 80, "http", 8080), Assert.Single(spec.Ports));
        var endpoint = Assert.Single(decoded.Endpoints);
        Assert.Equal(("web-0", IPAddress.Parse("10.1.0.1")), (endpoint.Hostname, Assert.Single(endpoint.Addresses)));

        var withdrawn = ServiceAnnouncementCodec.Decode(Convert.FromHexString(WithdrawnBytes));
        Assert.True(withdrawn.Withdrawn);
        Assert.Null(withdrawn.ToExport());
        Assert.Equal(8ul, withdrawn.Sequence);
    }

    [Fact]
    public void RoundTrip_DualStackHeadless_WithUnnamedPortsAndEndpointsWithoutHostname()
    {
        var announcement = new ServiceAnnouncement("cluster-b", ulong.MaxValue, new ServiceKey("db", "pg"), Created.AddMilliseconds(123),
            new ExportedServiceSpec(ExportedServiceType.Headless, [new ExportedPort("", "UDP", 53, null, 5353), new ExportedPort("sctp", "SCTP", 9, null, 9)], SessionAffinity.None, null, [IpFamily.IPv6, IpFamily.IPv4]),
            [new ReadyEndpoint([IPAddress.Parse("fd00::1"), IPAddress.Parse("10.0.0.1")], null), new ReadyEndpoint([IPAddress.Parse("10.0.0.2")], "pg-1")]);

        var bytes = ServiceAnnouncementCodec.Encode(announcement);
        var decoded = ServiceAnnouncementCodec.Decode(bytes);

        Assert.Equal(bytes, ServiceAnnouncementCodec.Encode(decoded));
        Assert.Equal(ExportedServiceType.Headless, decoded.Spec!.Type);
        Assert.Equal([IpFamily.IPv6, IpFamily.IPv4], decoded.Spec.IpFamilies);
        Assert.Equal(["fd00::1 10.0.0.1 -", "10.0.0.2 pg-1"], decoded.Endpoints.Select(e => $"{string.Join(" ", e.Addresses)} {e.Hostname ?? "-"}"));
        Assert.Equal(Created.AddMilliseconds(123), decoded.ExportCreated);
    }

    /// <summary>The pinned exported vector with one change at a byte offset, and what the refusal must name.</summary>
    public static TheoryData<string, int, string, string> Malformed() => new()
    {
        { "bad magic", 0, "51", "magic" },
        { "version 2", 4, "02", "version: 2" },
        { "length one short", 8, "4c", "length: says 76 bytes, got 77" },
        { "flags headless and withdrawn", 39, "03", "flags: 0x03" },
        { "unknown flag", 39, "04", "flags: 0x04" },
        { "affinity 2", 40, "02", "affinity: 2" },
        { "affinity timeout 0 with ClientIP", 41, "00000000", "affinity-timeout: 0 s" },
        { "family 5", 46, "05", "family 0: 5" },
        { "family count 3 runs into the ports", 45, "03", "family 1: 1" },
        { "port count over the limit", 47, "41", "port-count: 65, over the limit of 64" },
        { "protocol 9", 53, "09", "port 0 protocol: 9" },
        { "port 0", 54, "0000", "port 0 port: 0" },
        { "target port 0", 56, "0000", "port 0 target-port: 0" },
        { "endpoint count over the limit", 63, "03e9", "endpoint-count: 1001, over the limit of 1000" },
        { "endpoint count 2 with one endpoint", 63, "0002", "endpoint 1 hostname length: truncated" },
        { "no address", 71, "00", "endpoint 0 address-count: 0" },
        { "address family 5", 72, "05", "endpoint 0 address 0 family: 5" },
        { "IPv6 address in an IPv4-only service", 72, "06", "endpoint 0 address 0: truncated" },
        { "upper-case cluster", 10, "45", "cluster: 'East' is not a DNS label" },
        { "export created beyond year 9999", 31, "7f", "export-created: " },
        { "control byte in the namespace", 24, "0a", "namespace: byte 0x0a is not printable ASCII" },
        { "hostname not a label", 66, "5f", "endpoint 0 hostname: '_eb-0' is not a DNS label" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Decode_Malformed_IsRefusedNamingTheField(string what, int offset, string replacement, string expected)
    {
        var bytes = Convert.FromHexString(ExportedBytes);
        Convert.FromHexString(replacement).CopyTo(bytes, offset);

        var error = Assert.Throws<ServiceAnnouncementFormatException>(() => ServiceAnnouncementCodec.Decode(bytes));
        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{what}: '{error.Message}' does not say '{expected}'");
    }

    [Fact]
    public void Decode_EveryTruncation_IsRefused()
    {
        var bytes = Convert.FromHexString(ExportedBytes);
        for (var length = 0; length < bytes.Length; length++)
            Assert.Throws<ServiceAnnouncementFormatException>(() => ServiceAnnouncementCodec.Decode(bytes.AsSpan(0, length)));
    }

    [Fact]
    public void Decode_TrailingBytes_AreRefused()
    {
        var bytes = Convert.FromHexString(ExportedBytes + "00");
        bytes[8] = 78;

        Assert.Contains("length: 1 bytes after the last endpoint", Assert.Throws<ServiceAnnouncementFormatException>(() => ServiceAnnouncementCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void Decode_OverTheSizeLimit_IsRefusedBeforeReading()
    {
        Assert.Contains("size: 65536 bytes, over the limit of 65535", Assert.Throws<ServiceAnnouncementFormatException>(() => ServiceAnnouncementCodec.Decode(new byte[65536])).Message);
    }

    [Fact]
    public void Decode_WithdrawnWithEndpoints_IsRefused()
    {
        var bytes = Convert.FromHexString(WithdrawnBytes[..^4] + "0001" + "00" + "01" + "04" + "0a010001");
        bytes[8] = (byte)bytes.Length;

        Assert.Contains("a withdrawn announcement carries no endpoints", Assert.Throws<ServiceAnnouncementFormatException>(() => ServiceAnnouncementCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void Decode_RandomDamage_IsEitherReadOrRefused_NeverAnotherFailure()
    {
        var random = new Random(1645);
        var original = Convert.FromHexString(ExportedBytes);
        for (var round = 0; round < 20000; round++)
        {
            var bytes = (byte[])original.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try
            {
                var decoded = ServiceAnnouncementCodec.Decode(bytes);
                Assert.Equal(bytes, ServiceAnnouncementCodec.Encode(decoded));
            }
            catch (ServiceAnnouncementFormatException)
            {
            }
        }
    }

    [Fact]
    public void Encode_RefusesWhatADecoderWouldRefuse()
    {
        Assert.Contains("ExternalName Service is not exportable", Assert.Throws<ArgumentException>(() => ServiceAnnouncementCodec.Encode(Exported with { Spec = Exported.Spec! with { Type = ExportedServiceType.ExternalName } })).Message);
        Assert.Contains("cluster: 'East'", Assert.Throws<ArgumentException>(() => ServiceAnnouncementCodec.Encode(Exported with { ClusterId = "East" })).Message);
        Assert.Contains("endpoint 0 address fd00::1: not of the service's families [IPv4]",
            Assert.Throws<ArgumentException>(() => ServiceAnnouncementCodec.Encode(Exported with { Endpoints = [new ReadyEndpoint([IPAddress.Parse("fd00::1")], null)] })).Message);
        Assert.Contains("port 1: same name", Assert.Throws<ArgumentException>(() => ServiceAnnouncementCodec.Encode(Exported with { Spec = Exported.Spec! with { Ports = [.. Exported.Spec.Ports, new ExportedPort("http", "TCP", 81, null, 81)] } })).Message);
        Assert.Contains("endpoint-count: 1001", Assert.Throws<ArgumentException>(() => ServiceAnnouncementCodec.Encode(Exported with { Endpoints = Enumerable.Repeat(Exported.Endpoints[0], 1001).ToList() })).Message);
    }

    [Fact]
    public void Encode_TooLarge_IsRefusedWithTheLimit()
    {
        // 1,000 dual-stack endpoints with 63-character hostnames: about 99 KB, over the limit.
        var endpoints = Enumerable.Range(0, 1000).Select(i => new ReadyEndpoint([new IPAddress(BitConverter.GetBytes(i + 1)), IPAddress.Parse($"fd00::{i + 1:x}")], new string('h', 60) + $"{i:000}")).ToList();
        var big = Exported with { Spec = Exported.Spec! with { IpFamilies = [IpFamily.IPv4, IpFamily.IPv6] }, Endpoints = endpoints };

        Assert.Contains("over the limit of 65535", Assert.Throws<ServiceAnnouncementFormatException>(() => ServiceAnnouncementCodec.Encode(big)).Message);
    }
}
