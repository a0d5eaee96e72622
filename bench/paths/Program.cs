// The probe cost benchmark's processes; bench/paths/run.sh starts them inside its namespaces and measures their CPU
// from /proc, the same way it measures the ping reference.
//   idle SECONDS                  the runtime alone: what a process of this program costs doing nothing
//   probe PATHS PORT SECONDS      one PathProber (default options) probing PATHS far ends, 10.78.<i>.2:PORT for i in 0..PATHS-1
//   respond PORT SECONDS          one ProbeResponder on 0.0.0.0:PORT (the far side of every path)
//   interval                      prints the default probe interval in seconds (for ping -i)
// Each mode runs SECONDS, then prints one line of facts (to stdout) that say whether it did what was measured.
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Paths;

var mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "interval":
        Console.WriteLine(new PathHealthOptions().ProbeInterval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    case "idle":
        Ready();
        Thread.Sleep(TimeSpan.FromSeconds(double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)));
        Console.WriteLine("idle: done");
        return 0;
    case "probe":
        return Probe(int.Parse(args[1]), int.Parse(args[2]), double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
    case "respond":
        return Respond(int.Parse(args[1]), double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine("usage: Patronus.Bench.Paths idle SECONDS | probe PATHS PORT SECONDS | respond PORT SECONDS | interval");
        return 2;
}

static int Probe(int paths, int port, double seconds)
{
    var options = new PathHealthOptions();
    using var prober = new PathProber(options, new IPEndPoint(IPAddress.Any, 0), ns: null, NullLogger<PathProber>.Instance);
    for (var i = 0; i < paths; i++)
        prober.AddPath($"path-{i}", new IPEndPoint(IPAddress.Parse($"10.78.{i}.2"), port));
    // Which transitions happened, not just how many: a loaded machine can make a path look Down for a moment.
    var changes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
    prober.StateChanged += change => changes.AddOrUpdate($"{change.Before.State}->{change.After.State}", 1, (_, n) => n + 1);
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    var running = prober.RunAsync(stop.Token);
    Ready();
    running.GetAwaiter().GetResult();
    var states = prober.Paths.Values.GroupBy(p => p.State).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
    var latencies = prober.Paths.Values.Where(p => p.Quality.LatencyMs is not null).Select(p => p.Quality.LatencyMs!.Value).DefaultIfEmpty(double.NaN);
    Console.WriteLine($"probe: {paths} paths every {options.ProbeInterval.TotalMilliseconds} ms; states at the end: {string.Join(", ", states)}; " +
        $"state changes {(changes.IsEmpty ? "none" : string.Join(", ", changes.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}")))}; mean latency {latencies.Average():0.000} ms; refused replies {prober.Refused.Total}");
    return 0;
}

static int Respond(int port, double seconds)
{
    using var responder = new ProbeResponder(new IPEndPoint(IPAddress.Any, port), ns: null, NullLogger<ProbeResponder>.Instance);
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    var running = responder.RunAsync(stop.Token);
    Ready();
    running.GetAwaiter().GetResult();
    Console.WriteLine($"respond: answered {responder.Answered}, refused {responder.Refused.Total}");
    return 0;
}

// Tells run.sh the process is past start-up (its CPU from here on is the steady state's, after a warm-up it waits out).
static void Ready() => Console.Error.WriteLine("ready");
