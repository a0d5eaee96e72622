using System.Diagnostics;
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
long allocated = 0;
for (var i = 0; i < FullRuns; i++)
{
    GC.Collect();
    var before = GC.GetAllocatedBytesForCurrentThread();
    var watch = Stopwatch.StartNew();
    var c = PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
    watch.Stop();
    allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    fullTimes.Add(watch.Elapsed.TotalMilliseconds);
    GC.KeepAlive(c);
}

var baseline = GC.GetTotalMemory(forceFullCollection: true);
var compiler = PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
var retained = GC.GetTotalMemory(forceFullCollection: true) - baseline;
var rules = compiler.Endpoints.Values.Sum(e => e.Ingress.Rules.Count + e.Egress.Rules.Count);

Report("full compile", fullTimes, FullTarget, $"allocated {allocated / 1048576.0:F1} MiB, retained {retained / 1048576.0:F1} MiB, {compiler.Endpoints.Count} endpoints, {rules} allow rules");

var random = new Random(7);
string TeamNamespace() => SyntheticCluster.NamespaceName(random.Next(2, SyntheticCluster.NamespaceCount));

// One pod added (and then removed again, measured separately), in a random team namespace.
var added = new List<double>();
var removed = new List<double>();
var addedChanged = new List<double>();
for (var i = 0; i < UpdateRuns; i++)
{
    var pod = cluster.NewPod(TeamNamespace(), $"new-{i}", random.Next(50));
    var (t, changes) = Time(() => compiler.UpsertPod(pod));
    added.Add(t);
    addedChanged.Add(changes.Changed.Count);
    removed.Add(Time(() => compiler.RemovePod(pod.Namespace, pod.Name)).Ms);
}
Report("pod added", added, UpdateTarget, $"median {Median(addedChanged)} endpoints changed");
Report("pod removed", removed, UpdateTarget, "");

// One pod relabelled: its tier changes, so it moves between the peers of its namespace's policies.
var relabelled = new List<double>();
var relabelChanged = new List<double>();
for (var i = 0; i < UpdateRuns; i++)
{
    var pod = cluster.Pods[random.Next(100, cluster.Pods.Count)];
    var current = compiler.GetPod(pod.Id)!;
    var tier = current.Labels["tier"] == "frontend" ? "backend" : "frontend";
    var updated = current with { Labels = new Dictionary<string, string>(current.Labels) { ["tier"] = tier } };
    var (t, changes) = Time(() => compiler.UpsertPod(updated));
    relabelled.Add(t);
    relabelChanged.Add(changes.Changed.Count);
}
Report("pod relabelled", relabelled, UpdateTarget, $"median {Median(relabelChanged)} endpoints changed");

// The widest case: a pod in the monitoring namespace, which every namespace's allow-prometheus policy admits.
var monitoring = new List<double>();
var monitoringChanged = new List<double>();
for (var i = 0; i < 20; i++)
{
    var pod = cluster.NewPod("monitoring", $"prometheus-{i}", 1);
    var (t, changes) = Time(() => compiler.UpsertPod(pod));
    monitoring.Add(t);
    monitoringChanged.Add(changes.Changed.Count);
    compiler.RemovePod(pod.Namespace, pod.Name);
}
Report("pod added in monitoring (worst case)", monitoring, UpdateTarget, $"median {Median(monitoringChanged)} endpoints changed");
return;

static (double Ms, PolicyChanges Changes) Time(Func<PolicyChanges> action)
{
    var watch = Stopwatch.StartNew();
    var changes = action();
    watch.Stop();
    return (watch.Elapsed.TotalMilliseconds, changes);
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

static void Report(string what, List<double> times, double target, string extra)
{
    var median = Median(times);
    var p99 = times.Order().ElementAt((int)Math.Ceiling(times.Count * 0.99) - 1);
    Console.WriteLine($"{what,-38} median {median,8:F3} ms  p99 {p99,8:F3} ms  = {median / target:P0} of the {target} ms target  {extra}");
}
