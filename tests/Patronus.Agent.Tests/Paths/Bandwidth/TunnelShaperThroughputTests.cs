using System.Net;
using System.Text.RegularExpressions;
using Patronus.Agent.Paths.Bandwidth;
using Patronus.Netlink;
using Patronus.Testing;
using Patronus.WireGuard;
using Xunit.Abstractions;

namespace Patronus.Agent.Tests.Paths.Bandwidth;

/// <summary>
/// Issue 10's proof in throwaway namespaces: a 50 Mbit/s link (a tbf downstream of the shaped device, as a WAN
/// link is), a bulk source saturating it (UDP at three times the link's rate, or 16 TCP streams), and a pod source with a
/// guarantee of 10 Mbit/s that starts once the link is full. Without the guarantee that source is starved; with it,
/// it gets at least its minimum.
/// </summary>
public sealed partial class TunnelShaperThroughputTests : IDisposable
{
    private const string Bulk = "10.64.0.1";
    private const string Guaranteed = "10.64.0.2";

    private readonly ITestOutputHelper _output;
    private readonly OwnedNamespaces _namespaces = new();
    private readonly List<IDisposable> _owned = [];

    public TunnelShaperThroughputTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
            _owned[i].Dispose();
        _namespaces.Dispose();
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>sender (s0: bulk and guaranteed addresses) → wan (forwards; w1's egress is the 50 Mbit/s link) → receiver.</summary>
    [Fact]
    public void Veth_GuaranteedPodKeepsItsMinimum_WhileBulkSaturatesTheLink()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        var sender = _namespaces.Add($"shs-{id}");
        var wan = _namespaces.Add($"shw-{id}");
        var receiver = _namespaces.Add($"shr-{id}");
        NetworkNamespace.Ip(sender, $"link add name s0 type veth peer name w0 netns {wan}", "link set lo up", "link set s0 up",
            $"addr add {Bulk}/24 dev s0", $"addr add {Guaranteed}/24 dev s0", "route add 10.64.1.0/24 via 10.64.0.254");
        NetworkNamespace.Ip(wan, $"link add name w1 type veth peer name r1 netns {receiver}", "link set lo up", "link set w0 up", "link set w1 up",
            "addr add 10.64.0.254/24 dev w0", "addr add 10.64.1.254/24 dev w1");
        NetworkNamespace.Ip(receiver, "link set lo up", "link set r1 up", "addr add 10.64.1.1/24 dev r1", "route add default via 10.64.1.254");
        Run("ip", "netns", "exec", wan, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Run("tc", "-n", wan, "qdisc", "add", "dev", "w1", "root", "tbf", "rate", "50mbit", "burst", "64kb", "latency", "50ms");

        var (unprotected, bulkAlone) = Iperf.Contend(sender, receiver, "10.64.1.1", Bulk, Guaranteed, Iperf.UdpBulk);
        _output.WriteLine($"without the shaper: guaranteed source {unprotected / 1e6:0.0} Mbit/s, bulk {bulkAlone / 1e6:0.0} Mbit/s");

        using var ns = NetNs.OpenPath(NetworkNamespace.PathOf(sender));
        using var shaper = TunnelShaper.OpenIn(ns);
        Assert.Equal(7, shaper.Apply("s0", 50, [new BandwidthGuarantee(IPAddress.Parse(Guaranteed), 10)]));
        var (guaranteed, bulk) = Iperf.Contend(sender, receiver, "10.64.1.1", Bulk, Guaranteed, Iperf.UdpBulk);
        _output.WriteLine($"with the shaper, UDP bulk: guaranteed {guaranteed / 1e6:0.0} Mbit/s, bulk {bulk / 1e6:0.0} Mbit/s");
        var (guaranteedTcp, bulkTcp) = Iperf.Contend(sender, receiver, "10.64.1.1", Bulk, Guaranteed, Iperf.TcpBulk);
        var classified = SentBytes(sender, "s0", "1:10");
        _output.WriteLine($"with the shaper, TCP bulk: guaranteed {guaranteedTcp / 1e6:0.0} Mbit/s, bulk {bulkTcp / 1e6:0.0} Mbit/s; class 1:10 sent {classified} bytes");

        Assert.True(unprotected < 8e6, $"without the shaper the guaranteed source got {unprotected / 1e6:0.0} Mbit/s: the link is not contended enough to show the shaper's effect");
        Assert.True(guaranteed >= 10e6, $"with the shaper (UDP bulk) the guaranteed source got {guaranteed / 1e6:0.0} Mbit/s of its 10");
        Assert.True(guaranteedTcp >= 10e6, $"with the shaper (TCP bulk) the guaranteed source got {guaranteedTcp / 1e6:0.0} Mbit/s of its 10");
        Assert.True(classified > 5_000_000, $"the guaranteed source's bytes went through its class (1:10 sent {classified})");
        Assert.Equal(0, shaper.Apply("s0", 50, [new BandwidthGuarantee(IPAddress.Parse(Guaranteed), 10)]));
        Assert.True(shaper.Remove("s0"));
        Assert.DoesNotContain("htb", Run("tc", "-n", sender, "qdisc", "show", "dev", "s0"));
    }

    /// <summary>
    /// The real use: the shaper on a wireguard-go TUN device (configured through <see cref="WireGuardClient"/>), the
    /// 50 Mbit/s link on the underlay veth under it. HTB sees inner packets; the 10% headroom covers the encapsulation.
    /// </summary>
    [Fact]
    public void WireGuardGo_GuaranteedPodKeepsItsMinimum_WhileBulkSaturatesTheUnderlay()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        var a = _namespaces.Add($"shga-{id}");
        var b = _namespaces.Add($"shgb-{id}");
        var nsA = Own(NetNs.OpenPath(NetworkNamespace.PathOf(a)));
        var nsB = Own(NetNs.OpenPath(NetworkNamespace.PathOf(b)));
        NetworkNamespace.Ip(a, $"link add name ul0 type veth peer name ul0 netns {b}", "link set lo up", "link set ul0 up", "addr add 192.168.64.1/24 dev ul0");
        NetworkNamespace.Ip(b, "link set lo up", "link set ul0 up", "addr add 192.168.64.2/24 dev ul0");
        Run("tc", "-n", a, "qdisc", "add", "dev", "ul0", "root", "tbf", "rate", "50mbit", "burst", "64kb", "latency", "50ms");
        var wgA = Own(WireGuardGoDaemon.Start(a));
        var wgB = Own(WireGuardGoDaemon.Start(b));
        var keyA = Key.GeneratePrivate();
        var keyB = Key.GeneratePrivate();
        using (var clientA = WireGuardClient.OpenIn(nsA, new WireGuardClientOptions { SocketDirectory = WireGuardGoDaemon.SocketDirectory }))
            clientA.ConfigureDevice(wgA.Name, Gateway(keyA, keyB.PublicKey(), "192.168.64.2", "10.64.0.100/32"));
        using (var clientB = WireGuardClient.OpenIn(nsB, new WireGuardClientOptions { SocketDirectory = WireGuardGoDaemon.SocketDirectory }))
            clientB.ConfigureDevice(wgB.Name, Gateway(keyB, keyA.PublicKey(), "192.168.64.1", $"{Bulk}/32", $"{Guaranteed}/32"));
        NetworkNamespace.Ip(a, $"addr add {Bulk}/24 dev {wgA.Name}", $"addr add {Guaranteed}/24 dev {wgA.Name}", $"link set {wgA.Name} up");
        NetworkNamespace.Ip(b, $"addr add 10.64.0.100/24 dev {wgB.Name}", $"link set {wgB.Name} up");

        using var shaper = TunnelShaper.OpenIn(nsA);
        Assert.Equal(7, shaper.Apply(wgA.Name, 50, [new BandwidthGuarantee(IPAddress.Parse(Guaranteed), 10)]));
        var (guaranteed, bulk) = Iperf.Contend(a, b, "10.64.0.100", Bulk, Guaranteed, Iperf.UdpBulk);
        _output.WriteLine($"with the shaper, UDP bulk: guaranteed {guaranteed / 1e6:0.0} Mbit/s, bulk {bulk / 1e6:0.0} Mbit/s");
        var (guaranteedTcp, bulkTcp) = Iperf.Contend(a, b, "10.64.0.100", Bulk, Guaranteed, Iperf.TcpBulk);
        var classified = SentBytes(a, wgA.Name, "1:10");
        _output.WriteLine($"with the shaper, TCP bulk: guaranteed {guaranteedTcp / 1e6:0.0} Mbit/s, bulk {bulkTcp / 1e6:0.0} Mbit/s; class 1:10 sent {classified} bytes");
        Assert.Equal(0, shaper.Apply(wgA.Name, 50, [new BandwidthGuarantee(IPAddress.Parse(Guaranteed), 10)]));

        // The control: the same tree guaranteeing another pod, so the source shares the default class with the bulk.
        // (Not the device unshaped: there wireguard-go's TUN ring is the first queue, and it counts packets, not bytes;
        // the TCP stream hands it 64 KiB GSO packets against the bulk's 1300-byte datagrams and is not starved:
        // measured 36 Mbit/s.)
        shaper.Apply(wgA.Name, 50, [new BandwidthGuarantee(IPAddress.Parse("10.64.0.3"), 10)]);
        var (unprotected, bulkAlone) = Iperf.Contend(a, b, "10.64.0.100", Bulk, Guaranteed, Iperf.UdpBulk);
        _output.WriteLine($"guaranteeing another pod: the source {unprotected / 1e6:0.0} Mbit/s, bulk {bulkAlone / 1e6:0.0} Mbit/s");

        Assert.True(unprotected < 8e6, $"in the default class with the bulk the source got {unprotected / 1e6:0.0} Mbit/s: the path is not contended enough to show the guarantee's effect");
        Assert.True(guaranteed >= 10e6, $"with the shaper (UDP bulk) the guaranteed source got {guaranteed / 1e6:0.0} Mbit/s of its 10");
        Assert.True(guaranteedTcp >= 10e6, $"with the shaper (TCP bulk) the guaranteed source got {guaranteedTcp / 1e6:0.0} Mbit/s of its 10");
        Assert.True(classified > 5_000_000, $"the guaranteed source's bytes went through its class (1:10 sent {classified})");
        Assert.True(shaper.Remove(wgA.Name));
        Assert.DoesNotContain("htb", Run("tc", "-n", a, "qdisc", "show", "dev", wgA.Name));
    }

    private static DeviceConfig Gateway(Key privateKey, Key peer, string peerUnderlay, params string[] allowed) => new()
    {
        PrivateKey = privateKey,
        ListenPort = 51820,
        ReplacePeers = true,
        Peers =
        [
            new PeerConfig
            {
                PublicKey = peer,
                Endpoint = new IPEndPoint(IPAddress.Parse(peerUnderlay), 51820),
                ReplaceAllowedIPs = true,
                AllowedIPs = allowed.Select(IPNetwork.Parse).ToList(),
            },
        ],
    };

    private static string Run(string file, params string[] arguments)
    {
        var result = Command.Run(file, arguments);
        Assert.True(result.ExitCode == 0, $"{file} {string.Join(' ', arguments)}: {result.Stderr}");
        return result.Stdout;
    }

    private static long SentBytes(string netns, string device, string classId)
    {
        var text = Run("tc", "-n", netns, "-s", "class", "show", "dev", device);
        var match = ClassStats().Matches(text).Single(m => m.Groups["id"].Value == classId);
        return long.Parse(match.Groups["bytes"].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"class htb (?<id>\S+) .*\n\s*Sent (?<bytes>\d+) bytes")]
    private static partial Regex ClassStats();
}
