// Pod lifecycle benchmark: patronus-cni (+ patronus-ipam) against the reference bridge + host-local plugins,
// side by side in one run, in throwaway namespaces. Prints medians, the ratio, and ADD latency under
// concurrent calls. Wall-clock numbers belong here, never in tests.
using System.Diagnostics;
using Patronus.Netlink;
using Patronus.Testing;

var iterations = args.Length > 0 ? int.Parse(args[0]) : 100;
var ours = args.Length > 1 ? args[1] : FindPlugin();
var tag = Guid.NewGuid().ToString("N")[..6];
var nodeName = $"pcni-bench-{tag}";
var dataDir = Path.Combine(Path.GetTempPath(), $"pcni-bench-{tag}");

var plugins = new[]
{
    new Plugin("reference bridge+host-local", "/usr/lib/cni/bridge", $$$"""
        {"cniVersion":"1.0.0","name":"pcni-bench-ref","type":"bridge","bridge":"pcnibref0","isGateway":true,"isDefaultGateway":true,
         "ipam":{"type":"host-local","subnet":"10.240.0.0/16","dataDir":"{{{dataDir}}}/ref"}}
        """),
    new Plugin("patronus-cni+patronus-ipam", ours, $$$"""
        {"cniVersion":"1.0.0","name":"pcni-bench-ours","type":"patronus-cni","bridge":"pcnibours0","isGateway":true,"isDefaultGateway":true,
         "ipam":{"type":"patronus-ipam","subnet":"10.241.0.0/16","dataDir":"{{{dataDir}}}/ours"}}
        """),
};

// patronus-cni's DEL leaves a detached child that sits out the kernel's RCU barrier after the veth is
// unlisted (see src/Patronus.Cni/README.md). As a subreaper the bench inherits such orphans and reaps them
// before it reads the CPU counters, so their CPU (the kernel's unregister work runs in the child) still
// counts for the plugin that left them.
Libc.SetChildSubreaper();
using var node = NetNs.Create(nodeName);
try
{
    node.Run(() =>
    {
        using var rt = RtNetlink.Open();
        rt.LinkSetUp(rt.LinkByName("lo")!.Index);
    });

    Console.WriteLine($"pod lifecycle (create netns, ADD, DEL, delete netns), {iterations} iterations each, interleaved");
    foreach (var p in plugins)
    {
        Lifecycle(p, 5, $"warm-{p.Short}");
    }

    var cpu = plugins.ToDictionary(p => p, _ => new List<double>());
    var lifecycle = plugins.ToDictionary(p => p, _ => new List<double>());
    var add = plugins.ToDictionary(p => p, _ => new List<double>());
    var del = plugins.ToDictionary(p => p, _ => new List<double>());
    for (var i = 0; i < iterations; i++)
    {
        foreach (var p in plugins)
        {
            var before = ChildCpuMs();
            var (total, a, d) = Lifecycle(p, 1, $"{p.Short}{i}")[0];
            Libc.ReapAllChildren();
            cpu[p].Add(ChildCpuMs() - before);
            lifecycle[p].Add(total);
            add[p].Add(a);
            del[p].Add(d);
        }
    }

    Console.WriteLine($"{"plugin",-30} {"lifecycle p50",14} {"ADD p50",10} {"DEL p50",10} {"lifecycle p95",14} {"plugin CPU p50",15}");
    foreach (var p in plugins)
    {
        Console.WriteLine($"{p.Name,-30} {Ms(Percentile(lifecycle[p], 50)),14} {Ms(Percentile(add[p], 50)),10} {Ms(Percentile(del[p], 50)),10} {Ms(Percentile(lifecycle[p], 95)),14} {Ms(Percentile(cpu[p], 50)),15}");
    }

    var ratio = Percentile(lifecycle[plugins[1]], 50) / Percentile(lifecycle[plugins[0]], 50);
    var addRatio = Percentile(add[plugins[1]], 50) / Percentile(add[plugins[0]], 50);
    var delRatio = Percentile(del[plugins[1]], 50) / Percentile(del[plugins[0]], 50);
    var cpuRatio = Percentile(cpu[plugins[1]], 50) / Percentile(cpu[plugins[0]], 50);
    Console.WriteLine($"ratio patronus/reference (p50): lifecycle {ratio:0.00}, ADD {addRatio:0.00}, DEL {delRatio:0.00}, plugin CPU (ADD+DEL) {cpuRatio:0.00}  (target: <= 0.50)");

    foreach (var concurrency in new[] { 16, 64 })
    {
        Console.WriteLine($"ADD latency with {concurrency} concurrent calls (3 rounds)");
        var latencies = new Dictionary<Plugin, List<double>>();
        foreach (var p in plugins)
        {
            latencies[p] = [];
            for (var round = 0; round < 3; round++)
            {
                latencies[p].AddRange(Concurrent(p, concurrency, $"c{p.Short}{round}-"));
            }

            Console.WriteLine($"  {p.Name,-30} p50 {Ms(Percentile(latencies[p], 50))}  p95 {Ms(Percentile(latencies[p], 95))}");
        }

        Console.WriteLine($"  ratio p50 {Percentile(latencies[plugins[1]], 50) / Percentile(latencies[plugins[0]], 50):0.00}, p95 {Percentile(latencies[plugins[1]], 95) / Percentile(latencies[plugins[0]], 95):0.00}");
    }
}
finally
{
    NetNs.Delete(nodeName);
    if (Directory.Exists(dataDir))
    {
        Directory.Delete(dataDir, true);
    }
}

List<(double Total, double Add, double Del)> Lifecycle(Plugin p, int count, string prefix)
{
    var samples = new List<(double, double, double)>();
    for (var i = 0; i < count; i++)
    {
        var pod = $"pcni-bp-{tag}-{prefix}-{i}";
        var id = $"{prefix}-{i}";
        var start = Stopwatch.GetTimestamp();
        NetNs.Create(pod).Dispose();
        var t0 = Stopwatch.GetTimestamp();
        Invoke(p, "ADD", id, pod);
        var t1 = Stopwatch.GetTimestamp();
        Invoke(p, "DEL", id, pod);
        var t2 = Stopwatch.GetTimestamp();
        NetNs.Delete(pod);
        var end = Stopwatch.GetTimestamp();
        samples.Add((Stopwatch.GetElapsedTime(start, end).TotalMilliseconds,
            Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds, Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds));
    }

    return samples;
}

List<double> Concurrent(Plugin p, int n, string prefix)
{
    var pods = Enumerable.Range(0, n).Select(i => $"pcni-bp-{tag}-{prefix}{i}").ToList();
    foreach (var pod in pods)
    {
        NetNs.Create(pod).Dispose();
    }

    try
    {
        using var go = new ManualResetEventSlim();
        var latencies = new double[n];
        var threads = Enumerable.Range(0, n).Select(i => new Thread(() =>
        {
            go.Wait();
            var t = Stopwatch.GetTimestamp();
            Invoke(p, "ADD", $"{prefix}{i}", pods[i]);
            latencies[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        })).ToList();
        threads.ForEach(t => t.Start());
        go.Set();
        threads.ForEach(t => t.Join());
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => Invoke(p, "DEL", $"{prefix}{i}", pods[i]));
        return [.. latencies];
    }
    finally
    {
        pods.ForEach(NetNs.Delete);
    }
}

void Invoke(Plugin p, string command, string containerId, string pod)
{
    // The runtime execs the plugin from inside the node's namespace: fork from a thread that entered it.
    node.Run(() =>
    {
        var start = new ProcessStartInfo(p.Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = containerId;
        start.Environment["CNI_NETNS"] = $"/var/run/netns/{pod}";
        start.Environment["CNI_IFNAME"] = "eth0";
        start.Environment["CNI_PATH"] = "/usr/lib/cni";
        using var process = Process.Start(start)!;
        process.StandardInput.Write(p.Config);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{p.Name} {command} {containerId} failed: {output}");
        }
    });
}

// CPU time (user + system) of reaped children: the plugins' own work, without the waits every plugin
// shares (the kernel's RCU grace periods on link deletion, other load on the machine).
static double ChildCpuMs()
{
    Libc.GetRusage(-1, out var usage); // RUSAGE_CHILDREN
    return ((usage.UserSec + usage.SysSec) * 1000.0) + ((usage.UserUsec + usage.SysUsec) / 1000.0);
}

static double Percentile(List<double> values, int p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static string Ms(double ms) => $"{ms:0.00} ms";

static string FindPlugin() => Checkout.PathOf("artifacts/bin/patronus-cni");

sealed record Plugin(string Name, string Path, string Config)
{
    public string Short => Name.StartsWith("ref", StringComparison.Ordinal) ? "r" : "o";
}

[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
struct RUsage
{
    public long UserSec;
    public long UserUsec;
    public long SysSec;
    public long SysUsec;
    public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NvCsw, NivCsw;
}

static class Libc
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    public static extern int GetRusage(int who, out RUsage usage);

    public static void SetChildSubreaper()
    {
        if (Prctl(36, 1, 0, 0, 0) != 0) // PR_SET_CHILD_SUBREAPER
        {
            throw new InvalidOperationException("prctl(PR_SET_CHILD_SUBREAPER) failed");
        }
    }

    /// <summary>Waits until no child is left: the plugin is reaped already, this waits for what it left behind.</summary>
    public static void ReapAllChildren()
    {
        while (WaitPid(-1, 0, 0x40000000) > 0 || System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == 4) // __WALL; EINTR
        {
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static extern int Prctl(int option, ulong a2, ulong a3, ulong a4, ulong a5);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static extern int WaitPid(int pid, nint status, int options);
}
