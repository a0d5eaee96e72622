using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Xunit.Abstractions;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>
/// A guaranteed minimum for one source on a shared, saturated link, the way a pod's min-bandwidth-mbps is kept on
/// a tunnel's egress: HTB classes and a u32 source filter made with our verbs, iperf3 traffic between two
/// throwaway namespaces, checked with tc and with the throughput each source gets.
/// </summary>
public sealed partial class HtbGuaranteeTests : IDisposable
{
    private const string BulkSource = "10.61.0.1";
    private const string GuaranteedSource = "10.61.0.2";
    private const string Server = "10.61.0.100";
    private const ulong MegabitInBytes = 125_000;

    private readonly ITestOutputHelper _output;
    private readonly TestNamespace _sender = new();
    private readonly TestNamespace _receiver;
    private readonly int _link;

    public HtbGuaranteeTests(ITestOutputHelper output)
    {
        _output = output;
        try
        {
            _receiver = new TestNamespace();
            _sender.Ip($"link add tx0 type veth peer name rx0 netns {_receiver.Name}");
            _link = _sender.Netlink.LinkByName("tx0")!.Index;
            _sender.Ip($"addr add {BulkSource}/24 dev tx0");
            _sender.Ip($"addr add {GuaranteedSource}/24 dev tx0");
            _receiver.Ip($"addr add {Server}/24 dev rx0");
            foreach (var ns in new[] { _sender, _receiver })
            {
                ns.Ip("link set lo up");
                ns.Ip($"link set {(ns == _sender ? "tx0" : "rx0")} up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _receiver?.Dispose();
        _sender.Dispose();
    }

    /// <summary>
    /// HTB counts bytes on the wire; iperf3, like a pod's user, counts TCP payload. A full-size segment is 1448
    /// payload bytes in a 1514-byte frame (4.6% more), and TCP's sawtooth under a hard rate costs a few percent
    /// more: measured here, a 10 Mbit/s class gives 9.6 Mbit/s of payload. So a guarantee of N Mbit/s is a class
    /// of N × 1.1: what the agent must do with a pod's min-bandwidth-mbps.
    /// </summary>
    private const double PayloadHeadroom = 1.1;

    /// <summary>
    /// The link's capacity (50 Mbit/s) is the parent class; the guaranteed source's class has 10 Mbit/s of payload
    /// (11 on the wire); everything else falls into the default class with the remaining 39; all may borrow up to 50.
    /// </summary>
    private void Shape(bool classifyGuaranteedSource)
    {
        var guaranteed = (ulong)(10 * MegabitInBytes * PayloadHeadroom);
        _sender.Netlink.QdiscAddHtb(_link, 1, defaultMinor: 0x20);
        _sender.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 1), RateBytesPerSec = 50 * MegabitInBytes });
        _sender.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x10), Parent = TcHandle.Make(1, 1), RateBytesPerSec = guaranteed, CeilBytesPerSec = 50 * MegabitInBytes });
        _sender.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x20), Parent = TcHandle.Make(1, 1), RateBytesPerSec = 50 * MegabitInBytes - guaranteed, CeilBytesPerSec = 50 * MegabitInBytes });
        if (classifyGuaranteedSource)
            _sender.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 10, IpPrefix.Parse($"{GuaranteedSource}/32"), TcHandle.Make(1, 0x10));
    }

    [Fact]
    public void SourceFilter_ReadBackByTc_AndDeletedByPriority()
    {
        Shape(classifyGuaranteedSource: true);
        _sender.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 11, IpPrefix.Parse("fd00:af4:0:1::/64"), TcHandle.Make(1, 0x10));

        var shown = _sender.Exec("tc -d filter show dev tx0");
        Assert.Contains("protocol ip pref 10 u32", shown);
        Assert.Contains("flowid 1:10", shown);
        Assert.Contains("match 0a3d0002/ffffffff at 12", shown);
        Assert.Contains("protocol ipv6 pref 11 u32", shown);
        Assert.Contains("match fd000af4/ffffffff at 8", shown);
        Assert.Contains("match 00000001/ffffffff at 12", shown);
        Assert.Contains(_sender.Netlink.FilterList(_link, TcHandle.Make(1, 0)), f => f.Kind == "u32" && f.Priority == 10);

        Assert.True(_sender.Netlink.FilterDelU32(_link, TcHandle.Make(1, 0), 10, AddressFamily.InterNetwork));
        Assert.False(_sender.Netlink.FilterDelU32(_link, TcHandle.Make(1, 0), 10, AddressFamily.InterNetwork));
        shown = _sender.Exec("tc filter show dev tx0");
        Assert.DoesNotContain("pref 10 ", shown);
        Assert.Contains("pref 11 ", shown);
    }

    [Fact]
    public void SourceFilter_BadInput_RefusedNamingTheArgument()
    {
        Shape(classifyGuaranteedSource: false);
        Assert.Equal("priority", Assert.Throws<ArgumentOutOfRangeException>(() =>
            _sender.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 0, IpPrefix.Parse("10.61.0.2/32"), TcHandle.Make(1, 0x10))).ParamName);
        Assert.Equal("source", Assert.Throws<ArgumentOutOfRangeException>(() =>
            _sender.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 1, IpPrefix.DefaultIPv4, TcHandle.Make(1, 0x10))).ParamName);
        Assert.Equal("classId", Assert.Throws<ArgumentOutOfRangeException>(() =>
            _sender.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 1, IpPrefix.Parse("10.61.0.2/32"), TcHandle.Make(1, 0))).ParamName);
        Assert.Contains("Parent Qdisc", Assert.Throws<NetlinkException>(() =>
            _sender.Netlink.FilterAddU32Source(_link, TcHandle.Make(7, 0), 1, IpPrefix.Parse("10.61.0.2/32"), TcHandle.Make(7, 0x10))).Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Eight saturating TCP streams from one source and one stream from the guaranteed source, on a 50 Mbit/s link.
    /// With the filter the guaranteed source gets its 10 Mbit/s; without it (same classes, the source left in the
    /// default class with the bulk streams) it gets its share of nine streams, and less: measured 0.3 Mbit/s.
    /// </summary>
    [Fact]
    public void GuaranteedSource_KeepsItsMinimum_WhileBulkSaturatesTheLink()
    {
        Shape(classifyGuaranteedSource: true);
        var (guaranteed, bulk) = Measure();
        var classified = SentBytes("1:10");
        _output.WriteLine($"with the filter: guaranteed {guaranteed / 1e6:0.0} Mbit/s, bulk {bulk / 1e6:0.0} Mbit/s; class 1:10 sent {classified} bytes");

        _sender.Netlink.QdiscDel(_link, TcHandle.Root);
        Shape(classifyGuaranteedSource: false);
        var (unprotected, bulkAlone) = Measure();
        _output.WriteLine($"without the filter: guaranteed source {unprotected / 1e6:0.0} Mbit/s, bulk {bulkAlone / 1e6:0.0} Mbit/s");

        Assert.True(guaranteed >= 10e6, $"guaranteed source got {guaranteed / 1e6:0.0} Mbit/s of its 10");
        Assert.True(guaranteed + bulk <= 53e6, $"the link carried {(guaranteed + bulk) / 1e6:0.0} Mbit/s, over its 50");
        Assert.True(classified > 4_000_000, "the guaranteed source's bytes went through its class");
        Assert.True(unprotected < guaranteed, "without the filter the same source gets less: the filter is what protects it");
    }

    /// <summary>Runs bulk (8 streams, 7 s) and, from its second second, the guaranteed source (1 stream, 4 s); returns both receivers' bits/s.</summary>
    private (double Guaranteed, double Bulk) Measure()
    {
        using var bulkServer = Start(_receiver, $"iperf3 -s -1 -p 5301 -B {Server}");
        using var guaranteedServer = Start(_receiver, $"iperf3 -s -1 -p 5302 -B {Server}");
        WaitForListener(5301);
        WaitForListener(5302);
        using var bulkClient = Start(_sender, $"iperf3 -c {Server} -p 5301 -B {BulkSource} -P 8 -t 7 -J");
        Thread.Sleep(1500);
        using var guaranteedClient = Start(_sender, $"iperf3 -c {Server} -p 5302 -B {GuaranteedSource} -t 4 -J");
        var guaranteed = Received(guaranteedClient);
        var bulk = Received(bulkClient);
        return (guaranteed, bulk);
    }

    private void WaitForListener(int port)
    {
        var deadline = Stopwatch.StartNew();
        while (!_receiver.Exec("ss -ltn").Contains($":{port} "))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"iperf3 did not listen on {port}");
            Thread.Sleep(50);
        }
    }

    private static Process Start(TestNamespace ns, string command)
    {
        var info = new ProcessStartInfo("ip", $"netns exec {ns.Name} {command}") { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
    }

    private static double Received(Process client)
    {
        var output = client.StandardOutput.ReadToEnd();
        if (!client.WaitForExit(30_000))
        {
            client.Kill(entireProcessTree: true);
            throw new TimeoutException("iperf3 did not finish");
        }
        using var json = JsonDocument.Parse(output);
        return json.RootElement.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
    }

    private long SentBytes(string classId)
    {
        var text = _sender.Exec("tc -s class show dev tx0");
        var match = ClassStats().Matches(text).Single(m => m.Groups["id"].Value == classId);
        return long.Parse(match.Groups["bytes"].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"class htb (?<id>\S+) .*\n\s*Sent (?<bytes>\d+) bytes")]
    private static partial System.Text.RegularExpressions.Regex ClassStats();
}
