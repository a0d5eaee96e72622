using System.Diagnostics;
using System.Runtime.InteropServices;
using Patronus.Bench.Policy;
using Patronus.Policy.Compiler;
using Patronus.Policy.Model;

// Targets from issue 3: full compile under 500 ms; one pod added, relabelled or removed under 5 ms.
const double FullTarget = 500, UpdateTarget = 5;
const int FullRuns = 7, UpdateRuns = 200;

var cluster = new SyntheticCluster();
Console.WriteLine($"cluster: {cluster.Namespaces.Count} namespaces, {cluster.Pods.Count} pods, {cluster.Policies.Count} policies");

// Warm up the JIT on a full compile, then measure.
PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
var fullTimes = new List<double>();
var fullCpu = new List<double>();
long allocated = 0;
for (var i = 0; i < FullRuns; i++)
{
    GC.Collect();
    var before = GC.GetAllocatedBytesForCurrentThread();
    var cpu = ThreadCpu.Milliseconds();
    var watch = Stopwatch.StartNew();
    var c = PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
    watch.Stop();
    fullCpu.Add(ThreadCpu.Milliseconds() - cpu);
    allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    fullTimes.Add(watch.Elapsed.TotalMilliseconds);
    GC.KeepAlive(c);
}

var baseline = GC.GetTotalMemory(forceFullCollection: true);
var compiler = PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
var retained = GC.GetTotalMemory(forceFullCollection: true) - baseline;
var rules = compiler.Endpoints.Values.Sum(e => e.Ingress.Rules.Count + e.Egress.Rules.Count);

Report("full compile", fullTimes, fullCpu, FullTarget, $"allocated {allocated / 1048576.0:F1} MiB, retained {retained / 1048576.0:F1} MiB, {compiler.Endpoints.Count} endpoints, {rules} allow rules");

var random = new Random(7);
string TeamNamespace() => SyntheticCluster.NamespaceName(random.Next(2, SyntheticCluster.NamespaceCount));

// One pod added (and then removed again, measured separately), in a random team namespace.
var added = new List<double>();
var addedCpu = new List<double>();
var removed = new List<double>();
var removedCpu = new List<double>();
var addedChanged = new List<double>();
for (var i = 0; i < UpdateRuns; i++)
{
    var pod = cluster.NewPod(TeamNamespace(), $"new-{i}", random.Next(50));
    var (t, c, changes) = Time(() => compiler.UpsertPod(pod));
    added.Add(t);
    addedCpu.Add(c);
    addedChanged.Add(changes.Changed.Count);
    var (rt, rc, _) = Time(() => compiler.RemovePod(pod.Namespace, pod.Name));
    removed.Add(rt);
    removedCpu.Add(rc);
}
Report("pod added", added, addedCpu, UpdateTarget, $"median {Median(addedChanged)} endpoints changed");
Report("pod removed", removed, removedCpu, UpdateTarget, "");

// One pod relabelled: its tier changes, so it moves between the peers of its namespace's policies.
var relabelled = new List<double>();
var relabelledCpu = new List<double>();
var relabelChanged = new List<double>();
for (var i = 0; i < UpdateRuns; i++)
{
    var pod = cluster.Pods[random.Next(100, cluster.Pods.Count)];
    var current = compiler.GetPod(pod.Id)!;
    var tier = current.Labels["tier"] == "frontend" ? "backend" : "frontend";
    var updated = current with { Labels = new Dictionary<string, string>(current.Labels) { ["tier"] = tier } };
    var (t, c, changes) = Time(() => compiler.UpsertPod(updated));
    relabelled.Add(t);
    relabelledCpu.Add(c);
    relabelChanged.Add(changes.Changed.Count);
}
Report("pod relabelled", relabelled, relabelledCpu, UpdateTarget, $"median {Median(relabelChanged)} endpoints changed");

// The widest case: a pod in the monitoring namespace, which every namespace's allow-prometheus policy admits.
var monitoring = new List<double>();
var monitoringCpu = new List<double>();
var monitoringChanged = new List<double>();
for (var i = 0; i < 20; i++)
{
    var pod = cluster.NewPod("monitoring", $"prometheus-{i}", 1);
    var (t, c, changes) = Time(() => compiler.UpsertPod(pod));
    monitoring.Add(t);
    monitoringCpu.Add(c);
    monitoringChanged.Add(changes.Changed.Count);
    compiler.RemovePod(pod.Namespace, pod.Name);
}
Report("pod added in monitoring (worst case)", monitoring, monitoringCpu, UpdateTarget, $"median {Median(monitoringChanged)} endpoints changed");
return;

static (double Ms, double CpuMs, PolicyChanges Changes) Time(Func<PolicyChanges> action)
{
    var cpu = ThreadCpu.Milliseconds();
    var watch = Stopwatch.StartNew();
    var changes = action();
    watch.Stop();
    return (watch.Elapsed.TotalMilliseconds, ThreadCpu.Milliseconds() - cpu, changes);
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

// Wall time and this thread's CPU time: on a shared machine the wall time includes waiting for a core.
static void Report(string what, List<double> times, List<double> cpu, double target, string extra)
{
    var median = Median(times);
    var p99 = times.Order().ElementAt((int)Math.Ceiling(times.Count * 0.99) - 1);
    Console.WriteLine($"{what,-38} wall median {median,8:F3} ms (p99 {p99,8:F3})  cpu median {Median(cpu),8:F3} ms  = {median / target:P0} of the {target} ms target  {extra}");
}

internal static partial class ThreadCpu
{
    private const int ClockThreadCpuTime = 3;

    public static double Milliseconds()
    {
        clock_gettime(ClockThreadCpuTime, out var time);
        return time.Seconds * 1e3 + time.Nanoseconds / 1e6;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clock, out TimeSpec time);
}
