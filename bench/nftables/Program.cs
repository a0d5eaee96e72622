// Benchmark of the nftables datapath, in throwaway namespaces (pnft-bench-*):
//  1. iperf3 throughput client -> server with no Patronus table, then with 1,000 policies isolating the
//     server, the traffic admitted only by the last rule. TCP (one stream: after the handshake every packet is
//     an established flow) and UDP (one-way: conntrack never sees a reply, so every packet walks the verdict
//     map and the endpoint chain: the worst case for per-packet cost).
//  2. Time from Update() to enforcement with those 1,000 policies in force: the last rule is moved between
//     two ports; measured (a) until Update returns (libnftables returns after the kernel commits the batch,
//     so the rule is in force for the next packet) and (b) until a probe connection, retried every ~2 ms from
//     the client, first gets through to the newly admitted port.
// `restart`: the kill -9 drill (see RestartDrill.cs).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Bench.Nftables;
using Patronus.Testing;
using Patronus.Policy.Compiled;

if (args.Length > 0 && args[0] == "hold")
    return RestartDrill.Hold(args[1], IPAddress.Parse(args[2]), IPAddress.Parse(args[3]));
if (args.Length > 0 && args[0] == "restart")
    return RestartDrill.Run();

var seconds = args.Length > 0 ? int.Parse(args[0]) : 5;
var rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
var changes = args.Length > 2 ? int.Parse(args[2]) : 21;
const int PolicyCount = BenchPolicies.Count;

using var lab = new BenchLab();
var iperfServer = BenchLab.Start("ip", $"netns exec {lab.Server} iperf3 -s");
Thread.Sleep(300);
try
{
    var client = BenchPolicies.Client(lab);
    EndpointPolicy Server(int lastRulePort) => BenchPolicies.Server(lab, lastRulePort);

    Console.WriteLine($"nftables datapath benchmark: {PolicyCount} policies, iperf3 {seconds}s x {rounds} rounds, {changes} policy changes");
    var tcpOpen = new List<double>(); var tcpPolicy = new List<double>();
    var udpOpen = new List<double>(); var udpPolicy = new List<double>();
    double reconcileMs;
    using (var datapath = new NftablesDatapath(new NftablesDatapathOptions { NetworkNamespacePath = lab.NodePath }))
    {
        var reconcile = Stopwatch.StartNew();
        datapath.Reconcile([client, Server(5201)]);
        reconcileMs = reconcile.Elapsed.TotalMilliseconds;
        Console.WriteLine($"reconcile with {PolicyCount} policies: {reconcileMs:F1} ms");

        // Alternate the two conditions so machine noise falls on both alike.
        for (var r = 0; r < rounds; r++)
        {
            BenchLab.Run("ip", $"netns exec {lab.Node} nft delete table inet patronus");
            tcpOpen.Add(Iperf(lab, seconds, udp: false));
            udpOpen.Add(Iperf(lab, seconds, udp: true));
            datapath.Reconcile([client, Server(5201)]);
            tcpPolicy.Add(Iperf(lab, seconds, udp: false));
            udpPolicy.Add(Iperf(lab, seconds, udp: true));
            Console.WriteLine($"round {r + 1}: tcp {tcpOpen[^1]:F2} vs {tcpPolicy[^1]:F2} Gbit/s, udp {udpOpen[^1]:F2} vs {udpPolicy[^1]:F2} Gbit/s (no policy vs {PolicyCount})");
        }

        var drops = datapath.ReadDropCounters();
        Console.WriteLine($"drop counters: {string.Join(", ", drops.Select(d => $"{d.Namespace}/{d.Policy}/{d.Direction}={d.Packets}"))}");

        // Update latency: move the last rule between port 5301 and 5302, probe the newly admitted one.
        using var probeListeners = new ProbeListeners(lab, [5301, 5302]);
        datapath.Update([Server(5302)], []);
        var updateMs = new List<double>();
        var probeMs = new List<double>();
        for (var c = 0; c < changes; c++)
        {
            var port = c % 2 == 0 ? 5301 : 5302;
            var other = port == 5301 ? 5302 : 5301;
            if (Probe.Connects(lab, other) is false || Probe.Connects(lab, port) is true)
                throw new InvalidOperationException($"before change {c}: expected {other} open and {port} closed");
            using var probe = new Probe(lab, port);
            var started = Stopwatch.GetTimestamp();
            probe.Start(started);
            datapath.Update([Server(port)], []);
            var returned = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var firstThrough = probe.WaitFirstSuccess(TimeSpan.FromSeconds(5));
            updateMs.Add(returned);
            probeMs.Add(firstThrough);
            if (Probe.Connects(lab, other) is true)
                throw new InvalidOperationException($"after change {c}: port {other} still admitted");
        }
        Console.WriteLine($"update (1 endpoint, {PolicyCount} rules) until Update returns: median {Median(updateMs):F1} ms, min {updateMs.Min():F1}, max {updateMs.Max():F1}");
        Console.WriteLine($"update until a probe connection first gets through: median {Median(probeMs):F1} ms, min {probeMs.Min():F1}, max {probeMs.Max():F1}");

        Console.WriteLine();
        Console.WriteLine($"RESULT tcp throughput ratio (1,000 policies / none): {Median(tcpPolicy) / Median(tcpOpen):F3}  ({Median(tcpPolicy):F2} / {Median(tcpOpen):F2} Gbit/s, medians)");
        Console.WriteLine($"RESULT udp throughput ratio (1,000 policies / none): {Median(udpPolicy) / Median(udpOpen):F3}  ({Median(udpPolicy):F2} / {Median(udpOpen):F2} Gbit/s, medians)");
        Console.WriteLine($"RESULT policy change to enforcement, median: {Median(updateMs):F1} ms (transaction), {Median(probeMs):F1} ms (probe)  target < 100 ms");
    }
}
finally
{
    iperfServer.Kill();
    iperfServer.WaitForExit();
}
return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static double Iperf(BenchLab lab, int seconds, bool udp)
{
    // UDP at an unlimited rate with large datagrams; the receiver's rate is what counts.
    var mode = udp ? "-u -b 0 -l 1400" : "";
    var json = BenchLab.Run("ip", $"netns exec {lab.Client} iperf3 -c {lab.ServerAddress} -t {seconds} {mode} -J");
    using var doc = JsonDocument.Parse(json);
    var end = doc.RootElement.GetProperty("end");
    var bits = udp
        ? end.GetProperty("sum").GetProperty("bits_per_second").GetDouble() * (1 - end.GetProperty("sum").GetProperty("lost_percent").GetDouble() / 100)
        : end.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
    return bits / 1e9;
}

