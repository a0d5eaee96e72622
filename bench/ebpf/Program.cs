// Both policy datapaths in one run, in throwaway namespaces (pnft-bench-*, the nftables benchmark's lab: a node
// with a bridge, a client pod and a server pod on veths):
//  1. iperf3 client -> server in three conditions, alternating every round so machine noise falls on all alike:
//     no policy at all (no table, no programs), nftables with 1,000 policies isolating the server, and eBPF with
//     the same 1,000 policies. TCP one stream and UDP as fast as it goes (-b 0 -l 1400). Throughput as received;
//     CPU per packet from iperf3's own accounting of both ends' CPU time over the packets sent (every packet sent
//     crosses both veths and both programs before the receiver may drop it; on a veth the datapath runs in the
//     sender's softirq context, so its cost is in that CPU time).
//  2. Policy change to enforcement with the 1,000 policies in force, per datapath: the last rule is moved
//     between two ports; until Update returns and until a probe connection first gets through.
//  3. CPU per packet of the programs alone (BPF_PROG_TEST_RUN, see ProgramCost.cs), for the shipped program
//     and its variant on the kernel's conntrack through kfuncs, and for any object named in
//     PATRONUS_BENCH_OBJECTS (name=path,name=path), e.g. an earlier build of the program.
// rounds=0 or changes=0 leaves out part 1 or 2.
using System.Diagnostics;
using System.Text.Json;
using Patronus.Agent.Datapath;
using Patronus.Agent.Datapath.Ebpf;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Bench.Ebpf;
using Patronus.Bench.Nftables;
using Patronus.Policy.Compiled;

var seconds = args.Length > 0 ? int.Parse(args[0]) : 4;
var rounds = args.Length > 1 ? int.Parse(args[1]) : 5;
var changes = args.Length > 2 ? int.Parse(args[2]) : 21;
const int PolicyCount = BenchPolicies.Count;

var bpffs = Directory.CreateTempSubdirectory("patronus-bench-bpffs-").FullName;
using var lab = new BenchLab();
var iperfServer = BenchLab.Start("ip", $"netns exec {lab.Server} iperf3 -s");
Thread.Sleep(300);
try
{
    var client = BenchPolicies.Client(lab);
    EndpointPolicy Server(int lastRulePort) => BenchPolicies.Server(lab, lastRulePort);
    Console.WriteLine($"datapath benchmark: {PolicyCount} policies, iperf3 {seconds}s x {rounds} rounds, {changes} policy changes; load average {File.ReadAllText("/proc/loadavg").Trim()}");

    using var nftables = new NftablesDatapath(new NftablesDatapathOptions { NetworkNamespacePath = lab.NodePath });
    using var ebpf = new EbpfDatapath(new EbpfDatapathOptions { NetworkNamespacePath = lab.NodePath, Bpffs = bpffs, Bridge = "br0" });
    var datapaths = new (string Name, IPolicyDatapath Datapath, Action Remove)[]
    {
        ("none", new NoDatapath(), () => { }),
        ("nftables", nftables, () => BenchLab.Run("ip", $"netns exec {lab.Node} nft delete table inet patronus")),
        // Removing the clsact qdisc takes the programs off; the next Reconcile puts them back.
        ("ebpf", ebpf, () =>
        {
            foreach (var veth in new[] { "veth11", "veth12" })
                BenchLab.Run("tc", $"-n {lab.Node} qdisc del dev {veth} clsact");
        }),
    };
    foreach (var (name, datapath, _) in datapaths)
    {
        var reconcile = Stopwatch.StartNew();
        datapath.Reconcile([client, Server(5201)]);
        Console.WriteLine($"{name}: reconcile with {PolicyCount} policies {reconcile.Elapsed.TotalMilliseconds:F1} ms");
    }
    foreach (var (_, _, remove) in datapaths)
        remove();

    var results = datapaths.ToDictionary(d => d.Name, _ => (Tcp: new List<Run>(), Udp: new List<Run>()));
    for (var r = 0; r < rounds; r++)
    {
        foreach (var (name, datapath, remove) in datapaths)
        {
            datapath.Reconcile([client, Server(5201)]);
            var tcp = Iperf(lab, seconds, udp: false);
            var udp = Iperf(lab, seconds, udp: true);
            remove();
            results[name].Tcp.Add(tcp);
            results[name].Udp.Add(udp);
            Console.WriteLine($"round {r + 1} {name,-8}: tcp {tcp.Gbits:F2} Gbit/s {tcp.CpuNsPerPacket:F0} ns CPU/packet, udp {udp.Gbits:F2} Gbit/s {udp.CpuNsPerPacket:F0} ns CPU/packet");
        }
    }

    // Policy change to enforcement, each datapath alone in force.
    var update = new Dictionary<string, (List<double> Returned, List<double> Probe)>();
    using (var listeners = new ProbeListeners(lab, [5301, 5302]))
    {
        foreach (var (name, datapath, remove) in changes == 0 ? [] : datapaths.Skip(1))
        {
            datapath.Reconcile([client, Server(5302)]);
            var returned = new List<double>();
            var probed = new List<double>();
            for (var c = 0; c < changes; c++)
            {
                var port = c % 2 == 0 ? 5301 : 5302;
                var other = port == 5301 ? 5302 : 5301;
                if (Probe.Connects(lab, other) is false || Probe.Connects(lab, port) is true)
                    throw new InvalidOperationException($"{name}, before change {c}: expected {other} open and {port} closed");
                using var probe = new Probe(lab, port);
                var started = Stopwatch.GetTimestamp();
                probe.Start(started);
                datapath.Update([Server(port)], []);
                returned.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                probed.Add(probe.WaitFirstSuccess(TimeSpan.FromSeconds(5)));
                if (Probe.Connects(lab, other) is true)
                    throw new InvalidOperationException($"{name}, after change {c}: port {other} still admitted");
            }
            update[name] = (returned, probed);
            Console.WriteLine($"{name}: update until Update returns: median {Median(returned):F1} ms (min {returned.Min():F1}, max {returned.Max():F1}); until a probe gets through: median {Median(probed):F1} ms");
            remove();
        }
    }
    Console.WriteLine($"ebpf drop counters: {string.Join(", ", ebpf.ReadDropCounters().Select(d => $"{d.Namespace}/{d.Policy}/{d.Direction}={d.Packets}"))}");

    Console.WriteLine();
    Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
    double Gbits(string name, bool udp) => rounds == 0 ? double.NaN : Median((udp ? results[name].Udp : results[name].Tcp).Select(r => r.Gbits).ToList());
    double Cpu(string name, bool udp) => rounds == 0 ? double.NaN : Median((udp ? results[name].Udp : results[name].Tcp).Select(r => r.CpuNsPerPacket).ToList());
    foreach (var udp in rounds == 0 ? [] : new[] { false, true })
    {
        var proto = udp ? "udp" : "tcp";
        Console.WriteLine($"RESULT {proto} no policy: {Gbits("none", udp):F2} Gbit/s, {Cpu("none", udp):F0} ns CPU/packet (medians)");
        foreach (var name in new[] { "nftables", "ebpf" })
            Console.WriteLine($"RESULT {proto} {name,-8} / no policy: {Gbits(name, udp) / Gbits("none", udp):F3} throughput ({Gbits(name, udp):F2} Gbit/s), {Cpu(name, udp):F0} ns CPU/packet");
        Console.WriteLine($"RESULT {proto} ebpf / nftables throughput: {Gbits("ebpf", udp) / Gbits("nftables", udp):F3}");
    }
    foreach (var (name, (returned, probed)) in update)
        Console.WriteLine($"RESULT {name,-8} policy change to enforcement, median: {Median(returned):F1} ms (Update returns), {Median(probed):F1} ms (probe)");

    var variants = new List<ProgramCost.Variant>
    {
        new("map", new EbpfDatapathOptions().ObjectPath),
        new("kfunc", Path.Combine(AppContext.BaseDirectory, "bpf", "patronus_lxc_ct_kfunc.o")),
    };
    foreach (var extra in (Environment.GetEnvironmentVariable("PATRONUS_BENCH_OBJECTS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        variants.Add(new(extra.Split('=')[0], extra.Split('=')[1]));
    Console.WriteLine($"program cost, load average {File.ReadAllText("/proc/loadavg").Trim()}:");
    foreach (var variant in variants)
    {
        var cost = ProgramCost.Measure(lab, variant);
        Console.WriteLine($"RESULT cost {cost.Variant,-8} ns per run: established {cost.Established:F0}, reply {cost.Reply:F0}, unreplied udp (1,000 policies) {cost.Unreplied:F0}, denied {cost.Denied:F0}, new flow {cost.NewFlow:F0}");
    }
}
finally
{
    iperfServer.Kill();
    iperfServer.WaitForExit();
    BenchLab.Run("umount", $"-l {bpffs}");
    Directory.Delete(bpffs, recursive: true);
}
return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

// CPU per packet: iperf3 reports each end's CPU time as a percentage of the test's wall time; packets are the
// datagrams sent for UDP, and for TCP the bytes received over the 1448-byte MSS (veth carries GSO superpackets,
// so TCP's figure is per MSS-sized segment, not per packet the programs saw).
static Run Iperf(BenchLab lab, int seconds, bool udp)
{
    var mode = udp ? "-u -b 0 -l 1400" : "";
    var json = BenchLab.Run("ip", $"netns exec {lab.Client} iperf3 -c {lab.ServerAddress} -t {seconds} {mode} -J");
    using var doc = JsonDocument.Parse(json);
    var end = doc.RootElement.GetProperty("end");
    var cpu = end.GetProperty("cpu_utilization_percent");
    var cpuSeconds = (cpu.GetProperty("host_total").GetDouble() + cpu.GetProperty("remote_total").GetDouble()) / 100 * seconds;
    double bits, packets;
    if (udp)
    {
        var sum = end.GetProperty("sum");
        bits = sum.GetProperty("bits_per_second").GetDouble() * (1 - sum.GetProperty("lost_percent").GetDouble() / 100);
        packets = sum.GetProperty("packets").GetDouble();
    }
    else
    {
        var received = end.GetProperty("sum_received");
        bits = received.GetProperty("bits_per_second").GetDouble();
        packets = received.GetProperty("bytes").GetDouble() / 1448;
    }
    return new Run(bits / 1e9, packets > 0 ? cpuSeconds * 1e9 / packets : double.NaN);
}

internal readonly record struct Run(double Gbits, double CpuNsPerPacket);
