using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using NSec.Cryptography;
using Patronus.Agent.Mesh;
using Patronus.Agent.Tests.Hosting;
using Patronus.Mesh.Announcements;
using Patronus.Agent.Mesh.Discovery;
using Patronus.Mesh.Identity;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Netlink;
using Patronus.Testing;
using Xunit.Abstractions;
using static Patronus.Testing.NetworkNamespace;
using Key = NSec.Cryptography.Key;

using Patronus.Agent.Tests.Support;

namespace Patronus.Agent.Tests.Mesh;

/// <summary>
/// Two gateways (namespaces joined by a veth "WAN"), each with a range of its own behind it, joined by nothing but
/// their keys, a certificate from the same cluster set and each other's discovery address: real wireguard-go
/// devices configured over UAPI from verified announcements, real routes, real pings.
/// </summary>
public sealed class MeshGatewayTests : IAsyncLifetime
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly Key _setKey = Key.Create(Ed25519);
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly string _root = Directory.CreateTempSubdirectory("patronus-mesh-").FullName;
    private readonly List<Side> _sides = [];
    private readonly ITestOutputHelper _output;

    public MeshGatewayTests(ITestOutputHelper output) => _output = output;

    private sealed class Side
    {
        public required string Name { get; init; }
        public required string Netns { get; init; }
        public required string Interface { get; init; }
        public required string KeyFolder { get; init; }
        public required NetNs Ns { get; init; }
        public MeshGateway? Gateway { get; set; }
        public MemberIdentity? Identity { get; set; }
        public CancellationTokenSource Stop { get; set; } = new();
        public Task Running { get; set; } = Task.CompletedTask;

        /// <summary>What its gateway logs, every level, as formatted.</summary>
        public RecordingLoggers Logs { get; } = new();
    }

    private Side A => _sides[0];

    private Side B => _sides[1];

    public async Task InitializeAsync()
    {
        try
        {
            await StartBothAsync();
        }
        catch
        {
            // xUnit does not dispose a test class whose initialisation failed: nothing may be left behind.
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartBothAsync()
    {
        var a = _namespaces.Add($"pmg-{_id}-a");
        var b = _namespaces.Add($"pmg-{_id}-b");
        Ip(a, "link set lo up", $"link add wan0 type veth peer name wan0 netns {b}", "link set wan0 up", "addr add 172.31.0.1/24 dev wan0",
            "link add pods0 type bridge", "link set pods0 up", "addr add 10.244.0.1/24 dev pods0");
        Ip(b, "link set lo up", "link set wan0 up", "addr add 172.31.0.2/24 dev wan0",
            "link add pods0 type bridge", "link set pods0 up", "addr add 10.248.0.1/24 dev pods0");
        _sides.Add(NewSide("cluster-a", a));
        _sides.Add(NewSide("cluster-b", b));
        Certify(A, "10.244.0.0/16");
        Certify(B, "10.248.0.0/16");
        Start(A, "172.31.0.1", "172.31.0.2", "10.244.0.0/16");
        Start(B, "172.31.0.2", "172.31.0.1", "10.248.0.0/16");
        await Task.WhenAll(A.Gateway!.Ready.WaitAsync(TimeSpan.FromSeconds(20)), B.Gateway!.Ready.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    private Side NewSide(string name, string netns) => new()
    {
        Name = name,
        Netns = netns,
        Interface = $"wgm{_id}{name[^1]}",
        KeyFolder = Path.Combine(_root, name),
        Ns = NetNs.OpenNamed(netns),
    };

    private void Certify(Side side, string prefix)
    {
        var identityKey = MemberIdentity.EnsureKeys(side.KeyFolder);
        var certificate = ClusterSetAuthority.Certify(_setKey, new MemberCertificate(side.Name, identityKey, DateTimeOffset.UtcNow.AddDays(1), [IPNetwork.Parse(prefix)]));
        File.WriteAllText(Path.Combine(side.KeyFolder, MemberIdentity.CertificateFile), Convert.ToBase64String(certificate));
    }

    private byte[] SetPublicKey => _setKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);

    private void Start(Side side, string self, string peer, string prefix)
    {
        side.Identity = MemberIdentity.Load(side.KeyFolder, [SetPublicKey]);
        side.Stop = new CancellationTokenSource();
        side.Gateway = new MeshGateway(
            side.Identity,
            new MeshTrust([SetPublicKey], side.Name, [IPNetwork.Parse(prefix)]),
            new GatewayAnnouncement([new IPEndPoint(IPAddress.Parse(self), 51820)], [IPNetwork.Parse(prefix)], "gw", ProbePort: 51822),
            new DiscoveryOptions { Peers = [new IPEndPoint(IPAddress.Parse(peer), 51821)], Interval = TimeSpan.FromMilliseconds(500) },
            new TunnelOptions { Interface = side.Interface },
            side.Ns,
            side.Logs);
        side.Running = side.Gateway.RunAsync(side.Stop.Token);
    }

    private static async Task StopAsync(Side side)
    {
        side.Stop.Cancel();
        try
        {
            await side.Running;
        }
        finally
        {
            side.Gateway?.Dispose();
            side.Identity?.Dispose();
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var side in _sides)
                await StopAsync(side);
        }
        finally
        {
            // wireguard-go outlives its agent by design: the test ends the daemons it caused.
            foreach (var side in _sides)
            {
                Command.Run("pkill", ["-f", $"^wireguard-go {side.Interface}$"]);
                File.Delete($"/var/run/wireguard/{side.Interface}.sock");
                side.Ns.Dispose();
            }
            _namespaces.Dispose();
            _setKey.Dispose();
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task TwoMembers_JoinByAnnouncements_AndTheirRangesReachEachOtherThroughWireGuard()
    {
        Assert.True(await Poll.UntilAsync(() => Ping(A, "10.244.0.1", "10.248.0.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        Assert.True(Ping(B, "10.248.0.1", "10.244.0.1"));

        Assert.Contains($"10.248.0.0/16 dev {A.Interface}", Ip(A.Netns, "route show proto 78"));
        // At a low preference: on a standby gateway the routes feature's route to the carrier gateway wins.
        Assert.Contains($"metric {WireGuardTunnel.RouteMetric}", Ip(A.Netns, "route show proto 78"));
        Assert.Contains($"10.244.0.0/16 dev {B.Interface}", Ip(B.Netns, "route show proto 78"));
        var peer = Assert.Single(A.Gateway!.Tunnel.Read().Peers);
        // The member's range, and B's own address inside the path (where its probe responder answers through the tunnel).
        var bInside = TunnelDevices.TunnelAddress(B.Name, "gw", new IPEndPoint(IPAddress.Parse("172.31.0.2"), 51820));
        Assert.Equal(new[] { IPNetwork.Parse("10.248.0.0/16"), new IPNetwork(bInside, 128) }.OrderBy(p => p.ToString()), peer.AllowedIPs.OrderBy(p => p.ToString()));
        Assert.Contains($"{bInside} dev {A.Interface}", Ip(A.Netns, "-6 route show proto 78"));
        // A's own inside address is on its device, and B's responder answers a probe sent to B's through the tunnel.
        var aInside = TunnelDevices.TunnelAddress(A.Name, "gw", new IPEndPoint(IPAddress.Parse("172.31.0.1"), 51820));
        Assert.Contains(aInside.ToString(), Ip(A.Netns, $"-6 addr show dev {A.Interface}"));
        Assert.True(await Poll.UntilAsync(() => Command.Run("ip", ["netns", "exec", A.Netns, "ping", "-6", "-c", "1", "-W", "1", "-I", aInside.ToString(), bInside.ToString()]).ExitCode == 0,
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200)), "B's inside address does not answer through the tunnel");
        Assert.Equal(B.Identity!.WireGuardPrivateKey.PublicKey(), peer.PublicKey);
        Assert.NotNull(peer.LastHandshakeTime);
        foreach (var file in new[] { MemberIdentity.IdentityKeyFile, MemberIdentity.WireGuardKeyFile })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(A.KeyFolder, file)));
        Assert.Empty(A.Gateway.Exchange.Rejected.Where(r => r.Value > 0));
        // SYNs into the tunnel get an MSS that fits its MTU.
        Assert.Contains($"oifname \"{A.Interface}\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu",
            Command.Run("ip", ["netns", "exec", A.Netns, "nft", "list", "table", "inet", "patronus_mesh"]).Stdout);
    }

    [Fact]
    public async Task ForgedAnnouncementFromTheWan_IsRefusedAndCounted_AndChangesNothing()
    {
        Assert.True(await Poll.UntilAsync(() => B.Gateway!.Tunnel.Read().Peers.Count == 1, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        var before = B.Gateway!.Tunnel.Read().Peers.Single();

        // Someone on the WAN with a certificate from a set B does not trust claims A's range with its own key.
        using var otherSet = Key.Create(Ed25519);
        using var intruder = Key.Create(Ed25519);
        var certificate = new MemberCertificate("cluster-x", intruder.PublicKey.Export(KeyBlobFormat.RawPublicKey), DateTimeOffset.UtcNow.AddDays(1), [IPNetwork.Parse("10.244.0.0/16")]);
        var signedCertificate = ClusterSetAuthority.Certify(otherSet, certificate);
        var announcement = new Announcement(certificate, ulong.MaxValue - 1, DateTimeOffset.UtcNow, new byte[32], [new IPEndPoint(IPAddress.Parse("172.31.0.1"), 51999)], [IPNetwork.Parse("10.244.0.0/16")], "gw");
        var body = AnnouncementCodec.EncodeAnnouncementBody(announcement, signedCertificate);
        var forged = AnnouncementCodec.EncodeAnnouncement(body, Ed25519.Sign(intruder, [.. AnnouncementCodec.AnnouncementContext, .. body]));
        SendFrom(A, forged, "172.31.0.2");
        // And a truncated one.
        SendFrom(A, forged[..100], "172.31.0.2");

        Assert.True(await Poll.UntilAsync(() => B.Gateway.Exchange.Rejected.GetValueOrDefault(RejectReason.UnknownKey) >= 1
            && B.Gateway.Exchange.Rejected.GetValueOrDefault(RejectReason.Malformed) >= 1, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), string.Join(", ", B.Gateway.Exchange.Rejected));
        await Task.Delay(1500); // two more announcement rounds: nothing may have changed meanwhile
        var after = Assert.Single(B.Gateway.Tunnel.Read().Peers);
        Assert.Equal(before.PublicKey, after.PublicKey);
        Assert.Equal(before.AllowedIPs, after.AllowedIPs);
        Assert.DoesNotContain("51999", after.Endpoint?.ToString());
    }

    /// <summary>A gateway on two WAN links with another hears each announcement once per link: the copy is no replay.</summary>
    [Fact]
    public async Task AnExactCopyOfAnAcceptedAnnouncement_IsCountedAsADuplicate_NotRefusedAsAReplay()
    {
        Assert.True(await Poll.UntilAsync(() => B.Gateway!.Tunnel.Read().Peers.Count == 1, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        var now = DateTimeOffset.UtcNow;
        var a = A.Identity!;
        var announcement = new Announcement(a.Certificate, (ulong)now.ToUnixTimeMilliseconds() + 600_000, now, a.WireGuardPrivateKey.PublicKey().Bytes.ToArray(),
            [new IPEndPoint(IPAddress.Parse("172.31.0.1"), 51820)], [IPNetwork.Parse("10.244.0.0/16")], "gw", 51822);
        var datagram = a.Sign(announcement);
        var altered = a.Sign(announcement with { Timestamp = now.AddSeconds(1) });
        // A itself falls silent (its keys go with it, so everything is signed above), and only these datagrams reach B.
        await StopAsync(A);
        var replayedBefore = B.Gateway!.Exchange.Rejected.GetValueOrDefault(RejectReason.Replayed);
        var duplicatesBefore = B.Gateway.Exchange.Duplicates;
        SendFrom(A, datagram, "172.31.0.2");
        SendFrom(A, datagram, "172.31.0.2");
        Assert.True(await Poll.UntilAsync(() => B.Gateway.Exchange.Duplicates == duplicatesBefore + 1, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50)), $"duplicates {B.Gateway.Exchange.Duplicates}");
        Assert.Equal(replayedBefore, B.Gateway.Exchange.Rejected.GetValueOrDefault(RejectReason.Replayed));
        // A copy with one field changed (the same sequence) is a replay as before.
        SendFrom(A, altered, "172.31.0.2");
        Assert.True(await Poll.UntilAsync(() => B.Gateway.Exchange.Rejected.GetValueOrDefault(RejectReason.Replayed) == replayedBefore + 1, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public async Task EveryKindOfBadAnnouncement_IsRefusedAndCountedByItsReason_AndChangesNoPeerOrRoute()
    {
        Assert.True(await Poll.UntilAsync(() => B.Gateway!.Tunnel.Read().Peers.Count == 1 && Ping(B, "10.248.0.1", "10.244.0.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        var peersBefore = B.Gateway!.Tunnel.Read().Peers.Single();
        var routesBefore = Ip(B.Netns, "route show proto 78");
        // B's metrics as the agent exports them: its gateway's counters, read at each scrape.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        _ = new MeshMetrics(() => B.Gateway, registry);
        Assert.Equal(0, AgentProcess.Sample(await Scrape(registry), "patronus_mesh_announcements_rejected_total{reason=\"replayed\"}"));
        var now = DateTimeOffset.UtcNow;
        var a = A.Identity!;
        var valid = new Announcement(a.Certificate, (ulong)now.ToUnixTimeMilliseconds() + 600_000, now, new byte[32], [new IPEndPoint(IPAddress.Parse("172.31.0.1"), 51999)], [IPNetwork.Parse("10.244.0.0/16")], "gw");

        // Replayed: a sequence number at or below the last one B accepted from A.
        SendFrom(A, a.Sign(valid with { Sequence = 1 }), "172.31.0.2");
        // Stale: signed by A, but from an hour ago.
        SendFrom(A, a.Sign(valid with { Timestamp = now.AddHours(-1) }), "172.31.0.2");
        // Unauthorized: A's certificate does not cover 10.99.0.0/16.
        SendFrom(A, a.Sign(valid with { Prefixes = [IPNetwork.Parse("10.99.0.0/16")] }), "172.31.0.2");
        // Altered: a valid datagram with one byte of its body changed after signing.
        var altered = a.Sign(valid);
        altered[altered.Length - 80] ^= 0x01;
        SendFrom(A, altered, "172.31.0.2");
        // Forged: A's certificate with a signature by a key that is not A's identity key.
        using var impostor = Key.Create(Ed25519);
        var body = AnnouncementCodec.EncodeAnnouncementBody(valid, a.SignedCertificate);
        SendFrom(A, AnnouncementCodec.EncodeAnnouncement(body, Ed25519.Sign(impostor, [.. AnnouncementCodec.AnnouncementContext, .. body])), "172.31.0.2");
        // Overlapping: a genuine member of the set (certified by the set key) claiming B's own range.
        using var member = Key.Create(Ed25519);
        var overlapping = new MemberCertificate("cluster-c", member.PublicKey.Export(KeyBlobFormat.RawPublicKey), now.AddDays(1), [IPNetwork.Parse("10.248.0.0/16")]);
        var overlappingCertificate = ClusterSetAuthority.Certify(_setKey, overlapping);
        var overlapBody = AnnouncementCodec.EncodeAnnouncementBody(valid with { Certificate = overlapping, Prefixes = [IPNetwork.Parse("10.248.0.0/16")] }, overlappingCertificate);
        SendFrom(A, AnnouncementCodec.EncodeAnnouncement(overlapBody, Ed25519.Sign(member, [.. AnnouncementCodec.AnnouncementContext, .. overlapBody])), "172.31.0.2");
        // Truncated and oversized.
        SendFrom(A, a.Sign(valid)[..60], "172.31.0.2");
        SendFrom(A, new byte[AnnouncementCodec.MaxSize + 200], "172.31.0.2");

        RejectReason[] expected = [RejectReason.Replayed, RejectReason.Stale, RejectReason.UnauthorizedPrefix, RejectReason.BadSignature, RejectReason.OverlappingPrefix, RejectReason.Malformed, RejectReason.Oversized];
        Assert.True(await Poll.UntilAsync(() => expected.All(r => B.Gateway.Exchange.Rejected.GetValueOrDefault(r) >= 1), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), string.Join(", ", B.Gateway.Exchange.Rejected));
        Assert.Equal(2, B.Gateway.Exchange.Rejected[RejectReason.BadSignature]); // the altered one and the forged one
        await Task.Delay(1500); // more announcement rounds and reconciles: nothing may have changed meanwhile
        var after = Assert.Single(B.Gateway.Tunnel.Read().Peers);
        Assert.Equal(peersBefore.PublicKey, after.PublicKey);
        Assert.Equal(peersBefore.AllowedIPs, after.AllowedIPs);
        Assert.DoesNotContain("51999", after.Endpoint?.ToString());
        Assert.Equal(routesBefore, Ip(B.Netns, "route show proto 78"));
        Assert.Equal(["cluster-a"], B.Gateway.Exchange.Members.Select(m => m.MemberId));

        // Each reason is exported as the metric counts it, and logged by name (eight refusals: under the log's limit of ten a minute).
        var exported = await Scrape(registry);
        _output.WriteLine(string.Join("\n", exported.Split('\n').Where(l => l.StartsWith("patronus_mesh_announcements_rejected_total"))));
        foreach (var reason in expected)
        {
            var series = $"patronus_mesh_announcements_rejected_total{{reason=\"{RejectReasons.Label(reason)}\"}}";
            Assert.True(AgentProcess.Sample(exported, series) == B.Gateway.Exchange.Rejected[reason], $"{series}: {AgentProcess.Sample(exported, series)}, counted {B.Gateway.Exchange.Rejected[reason]}\n{exported}");
            Assert.True(B.Logs.Messages.Any(m => System.Text.RegularExpressions.Regex.IsMatch(m, $@"^Warning: Announcement refused \({reason}\) from (172\.31\.0\.1|\[::ffff:172\.31\.0\.1\]):[0-9]+, ")),
                $"no log line for {reason}:\n{string.Join("\n", B.Logs.Messages.Where(m => m.Contains("refused")))}");
        }
        Assert.Equal(2, AgentProcess.Sample(exported, "patronus_mesh_announcements_rejected_total{reason=\"bad_signature\"}"));
    }

    private static async Task<string> Scrape(Prometheus.CollectorRegistry registry)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text);
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }

    [Fact]
    public async Task KeyRotation_UnderA10MsUdpStream_KeepsTrafficFlowing()
    {
        Assert.True(await Poll.UntilAsync(() => Ping(A, "10.244.0.1", "10.248.0.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        var oldKey = A.Identity!.WireGuardPrivateKey.PublicKey();
        using var stream = new UdpStream(A.Netns, IPAddress.Parse("10.244.0.1"), B.Netns, IPAddress.Parse("10.248.0.1"), 40000, TimeSpan.FromMilliseconds(10));
        Assert.True(stream.WaitForArrivals(50, TimeSpan.FromSeconds(10)), "the stream must flow before the rotation");

        await A.Gateway!.RotateKeysAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var newKey = A.Identity.WireGuardPrivateKey.PublicKey();
        Assert.NotEqual(oldKey, newKey);
        Assert.True(await Poll.UntilAsync(() => B.Gateway!.Tunnel.Read().Peers.SingleOrDefault()?.PublicKey.Equals(newKey) == true, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        var arrived = stream.Received;
        Assert.True(stream.WaitForArrivals(arrived + 100, TimeSpan.FromSeconds(10)), "the stream must flow after the rotation");
        var result = stream.Stop();

        _output.WriteLine($"rotation under a 10 ms UDP stream: {result}");
        Assert.True(result.LongestGap < TimeSpan.FromSeconds(1), result.ToString());
        // The new key is the one on disk, 0600; the old one is gone from the device.
        Assert.Equal(newKey, Patronus.WireGuard.KeyFile.Read(Path.Combine(A.KeyFolder, MemberIdentity.WireGuardKeyFile), Patronus.WireGuard.KeyKind.Private).PublicKey());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(A.KeyFolder, MemberIdentity.WireGuardKeyFile)));
        Assert.DoesNotContain(B.Gateway!.Tunnel.Read().Peers, p => p.PublicKey.Equals(oldKey));
    }

    [Fact]
    public async Task RestartedGateway_AdoptsTheRunningDevice_AndTrafficNeverStops()
    {
        Assert.True(await Poll.UntilAsync(() => Ping(A, "10.244.0.1", "10.248.0.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), Dump());
        var pid = Command.Run("pgrep", ["-f", $"^wireguard-go {A.Interface}$"]).Stdout.Trim();
        Assert.NotEmpty(pid);

        await StopAsync(A);
        // With A's agent gone the tunnel still carries traffic: WireGuard outlives it.
        Assert.True(Ping(A, "10.244.0.1", "10.248.0.1"), "the tunnel must outlive the agent");
        Start(A, "172.31.0.1", "172.31.0.2", "10.244.0.0/16");
        await A.Gateway!.Ready.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(pid, Command.Run("pgrep", ["-f", $"^wireguard-go {A.Interface}$"]).Stdout.Trim());
        Assert.True(Ping(A, "10.244.0.1", "10.248.0.1"));
    }

    private static void SendFrom(Side side, byte[] datagram, string to)
    {
        using var socket = side.Ns.RunOnThisThread(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        socket.SendTo(datagram, new IPEndPoint(IPAddress.Parse(to), 51821));
    }

    private static bool Ping(Side side, string from, string to) =>
        Command.Run("ip", ["netns", "exec", side.Netns, "ping", "-c", "1", "-W", "1", "-I", from, to]).ExitCode == 0;

    private string Dump() => string.Join("\n", _sides.Select(s =>
        $"{s.Name}: routes {Ip(s.Netns, "route show")} rejected {string.Join(",", s.Gateway?.Exchange.Rejected ?? new Dictionary<RejectReason, long>())} members {s.Gateway?.Exchange.Members.Count}"));
}
