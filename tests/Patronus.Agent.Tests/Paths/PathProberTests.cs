using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Paths;
using Patronus.Netlink;
using Patronus.Testing;
using Xunit.Abstractions;

namespace Patronus.Agent.Tests.Paths;

/// <summary>
/// The prober and the responder for real: two throwaway namespaces joined by two veth pairs, one per path
/// ("fast" over 10.77.1.0/24, "slow" over 10.77.2.0/24), the responder in one, the prober and a chooser in the
/// other. A path is cut by taking the responder's address off it, with iproute2. They run alone: they measure
/// time, and the CPU-bound property tests beside them would measure the scheduler instead.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class PathProberTests : IDisposable
{
    private static readonly Dictionary<string, (string Device, string Address)> FarEnds = new()
    {
        ["fast"] = ("b0", "10.77.1.2"),
        ["slow"] = ("b1", "10.77.2.2"),
    };

    private readonly ITestOutputHelper _output;
    private readonly string _near = $"ppr-a-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly string _far = $"ppr-b-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly NetNs _nearNs;
    private readonly NetNs _farNs;

    public PathProberTests(ITestOutputHelper output)
    {
        _output = output;
        NetworkNamespace.Add(_near);
        try
        {
            NetworkNamespace.Add(_far);
            NetworkNamespace.Ip(_near,
                $"link add a0 type veth peer name b0 netns {_far}",
                $"link add a1 type veth peer name b1 netns {_far}",
                "addr add 10.77.1.1/24 dev a0", "addr add 10.77.2.1/24 dev a1",
                "link set lo up", "link set a0 up", "link set a1 up");
            NetworkNamespace.Ip(_far,
                "addr add 10.77.1.2/24 dev b0", "addr add 10.77.2.2/24 dev b1",
                "link set lo up", "link set b0 up", "link set b1 up");
            _nearNs = NetNs.OpenPath(NetworkNamespace.PathOf(_near));
            _farNs = NetNs.OpenPath(NetworkNamespace.PathOf(_far));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _nearNs?.Dispose();
        _farNs?.Dispose();
        NetworkNamespace.TryDelete(_near);
        NetworkNamespace.TryDelete(_far);
    }

    [Fact]
    public async Task CutPath_IsDownAndLeftWithinTheBound_FiveTimesOver()
    {
        using var responder = new ProbeResponder(new IPEndPoint(IPAddress.Any, 0), _farNs, NullLogger<ProbeResponder>.Instance);
        using var prober = new PathProber(new PathHealthOptions(), new IPEndPoint(IPAddress.Any, 0), _nearNs, NullLogger<PathProber>.Instance);
        foreach (var (id, (_, address)) in FarEnds)
            prober.AddPath(id, new IPEndPoint(IPAddress.Parse(address), responder.LocalEndPoint.Port));
        var chooser = new PathChooser(QosClass.LatencySensitive.Sla, QosClass.LatencySensitive.Preference, new PathChooserOptions { HoldDown = TimeSpan.FromMilliseconds(500) });
        var clock = Stopwatch.StartNew();
        var events = new List<(TimeSpan At, string What)>();
        var sync = new Lock();
        string? current = null;
        prober.StateChanged += change =>
        {
            lock (sync)
                events.Add((clock.Elapsed, $"{change.PathId} {change.After.State}"));
        };
        prober.Probed += (statuses, now) =>
        {
            var decision = chooser.Decide(statuses.Select(s => PathCandidate.From(s.Key, s.Value)).ToList(), now);
            lock (sync)
            {
                current = decision.PathId;
                if (decision.Switched)
                    events.Add((clock.Elapsed, $"switch {decision.PathId}"));
            }
        };
        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(Task.Run(() => responder.RunAsync(stop.Token)), Task.Run(() => prober.RunAsync(stop.Token)));
        try
        {
            var detections = new List<double>();
            var switches = new List<double>();
            for (var trial = 0; trial < 5; trial++)
            {
                // Both paths up, and the chooser on one of them with the other meeting the SLA for the hold-down.
                await WaitFor(() => prober.Paths.Values.All(p => p.State == PathState.Up) && current is not null, TimeSpan.FromSeconds(10));
                await Task.Delay(TimeSpan.FromMilliseconds(700));
                string victim;
                lock (sync)
                    victim = current!;
                var (device, address) = FarEnds[victim];

                // The clock starts before iproute2 is even spawned: the measurement can only be too long.
                var cutAt = clock.Elapsed;
                NetworkNamespace.Ip(_far, $"addr del {address}/24 dev {device}");
                await WaitFor(() => { lock (sync) return events.Any(e => e.At >= cutAt && e.What == $"switch {Other(victim)}"); }, TimeSpan.FromSeconds(5));
                lock (sync)
                {
                    var down = events.First(e => e.At >= cutAt && e.What == $"{victim} Down").At - cutAt;
                    var moved = events.First(e => e.At >= cutAt && e.What == $"switch {Other(victim)}").At - cutAt;
                    detections.Add(down.TotalMilliseconds);
                    switches.Add(moved.TotalMilliseconds);
                    _output.WriteLine($"trial {trial}: cut {victim}, down after {down.TotalMilliseconds:0} ms, traffic moved after {moved.TotalMilliseconds:0} ms"
                        + $" [{string.Join(", ", events.Where(e => e.At >= cutAt - TimeSpan.FromSeconds(1)).Select(e => $"{(e.At - cutAt).TotalMilliseconds:0} {e.What}"))}]");
                }
                NetworkNamespace.Ip(_far, $"addr add {address}/24 dev {device}");
            }
            Assert.All(detections.Zip(switches), d => Assert.True(d.First <= d.Second + 1, "the switch follows the detection"));
            switches.Sort();
            _output.WriteLine($"cut to switch: p50 {switches[switches.Count / 2]:0} ms, max {switches[^1]:0} ms (bound 300 ms, detection alone designed for 150 ms)");
            // The issue's bound is 300 ms from the break to the switch. Measured generously here (from before the
            // iproute2 process that cuts the path is spawned, on a shared two-core machine where this process can
            // be descheduled for hundreds of milliseconds), the median must hold it and no trial take over a second.
            Assert.True(switches[switches.Count / 2] <= 300, $"median {switches[switches.Count / 2]:0} ms");
            Assert.All(switches, s => Assert.True(s <= 1000, $"{s:0} ms"));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task MalformedAndForgedDatagrams_CountedAndRefused_PathsStayUp()
    {
        using var responder = new ProbeResponder(new IPEndPoint(IPAddress.Any, 0), _farNs, NullLogger<ProbeResponder>.Instance);
        using var prober = new PathProber(new PathHealthOptions(), new IPEndPoint(IPAddress.Any, 0), _nearNs, NullLogger<PathProber>.Instance);
        prober.AddPath("fast", new IPEndPoint(IPAddress.Parse("10.77.1.2"), responder.LocalEndPoint.Port));
        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(Task.Run(() => responder.RunAsync(stop.Token)), Task.Run(() => prober.RunAsync(stop.Token)));
        try
        {
            await WaitFor(() => prober.Paths["fast"].State == PathState.Up, TimeSpan.FromSeconds(10));
            using var attacker = _nearNs.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
            var toResponder = new IPEndPoint(IPAddress.Parse("10.77.1.2"), responder.LocalEndPoint.Port);
            var toProber = new IPEndPoint(IPAddress.Parse("10.77.1.1"), prober.LocalEndPoint.Port);
            attacker.SendTo("not a probe"u8.ToArray(), toResponder);
            attacker.SendTo(new byte[2000], toResponder);
            attacker.SendTo(new byte[ProbePacket.Size], toResponder);
            attacker.SendTo(new ProbePacket(ProbeKind.Reply, 1, 1, 1).ToArray(), toResponder);
            attacker.SendTo(new byte[ProbePacket.Size], toProber);
            attacker.SendTo(new ProbePacket(ProbeKind.Request, 1, 1, 1).ToArray(), toProber);
            // A well-formed reply for the path, but not from its far end.
            attacker.SendTo(new ProbePacket(ProbeKind.Reply, 1, 1, 1).ToArray(), toProber);

            await WaitFor(() => responder.Refused.Total == 4 && prober.Refused.Total == 3, TimeSpan.FromSeconds(5));
            Assert.Equal((1L, 2L, 1L), (responder.Refused[ProbeRefusal.BadMagic], responder.Refused[ProbeRefusal.WrongLength], responder.Refused[ProbeRefusal.WrongDirection]));
            Assert.Equal((1L, 1L, 1L), (prober.Refused[ProbeRefusal.BadMagic], prober.Refused[ProbeRefusal.WrongDirection], prober.Refused[ProbeRefusal.UnknownPath]));
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            var fast = prober.Paths["fast"];
            Assert.Equal(PathState.Up, fast.State);
            Assert.True(fast.Quality.LatencyMs < 50, $"latency {fast.Quality.LatencyMs} ms over a veth");
            Assert.True(responder.Answered > 20);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    private static string Other(string pathId) => pathId == "fast" ? "slow" : "fast";

    private static async Task WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"not reached within {timeout.TotalSeconds} s");
            await Task.Delay(10);
        }
    }
}

/// <summary>Tests that measure elapsed time on real sockets run with no other test of this process beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "paths timing sensitive";
}
