using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Patronus.Cli.Tests.Lab.Persistent;
using Patronus.Cli.Tests.Support;
using Patronus.Testing;
using Xunit.Abstractions;

namespace Patronus.Cli.Tests.Lab.Paths;

/// <summary>
/// Issue 10's lab, of its own (its tests cut and slow a WAN link, which no other lab's tests may see): clusters east
/// (gateway gw-1, node-2 with the pods) and west (gateway gw-1 with the server), joined by two WAN links, <c>fast</c>
/// (5 ms each way, 50 Mbit/s) and <c>slow</c> (40 ms each way). Every test leaves both links as it found them.
/// </summary>
public sealed class PathsLabFixture : IAsyncLifetime
{
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-labtest-").FullName;

    internal LabCli Cli { get; } = new();

    public string Name { get; } = LabCli.NewName();

    public JsonNode Status { get; private set; } = null!;

    public string Files => _files;

    public Task InitializeAsync()
    {
        var lab = Path.Combine(_files, "lab.yaml");
        File.WriteAllText(lab, """
            clusters:
            - id: east
              podCIDR: 10.64.0.0/16
              serviceCIDR: 10.65.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              - {name: node-2}
              manifests: [east.yaml]
            - id: west
              podCIDR: 10.66.0.0/16
              serviceCIDR: 10.67.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              manifests: [west.yaml]
            wan:
            - {id: fast, between: [east, west], delay: 5ms, rate: 50mbit}
            - {id: slow, between: [east, west], delay: 40ms}
            """);
        File.WriteAllText(Path.Combine(_files, "east.yaml"), EastPods("best-effort"));
        File.WriteAllText(Path.Combine(_files, "west.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: default}
            spec: {nodeName: gw-1, containers: [{name: server, image: busybox}]}
            """);
        Cli.Must("up", "-f", lab, "--name", Name);
        Status = Cli.Status(Name);
        // Ready when both gateways probe both paths Up: the tests start from two healthy links.
        foreach (var cluster in new[] { "east", "west" })
        {
            Assert.True(Poll.Until(() => PathStates(cluster) == "fast Up, slow Up", TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500)),
                $"{cluster}: paths {PathStates(cluster)}\n{Paths(cluster, "table")}");
        }
        return Task.CompletedTask;
    }

    /// <summary>The file a link's relay rewrites the moment it applies new settings (see WanRelay).</summary>
    public string AppliedFile(string link) =>
        new Patronus.Cli.Lab.State.LabStore(Cli.StateRoot).Load(Name)!.Plan.WanLinks.Single(l => l.Id == link).AppliedFile;

    public JsonNode Gateway(string cluster) =>
        Status["clusters"]!.AsArray().Single(c => (string?)c!["id"] == cluster)!["nodes"]!.AsArray().Single(n => (string?)n!["name"] == "gw-1")!;

    /// <summary><c>patronus paths</c> against a cluster's gateway.</summary>
    public string Paths(string cluster, string output = "json")
    {
        var result = Command.Run(Repository.Artifact("patronus"), ["paths", "--socket", (string)Gateway(cluster)["socket"]!, "-o", output]);
        return result.Stdout + result.Stderr;
    }

    public string PathStates(string cluster)
    {
        try
        {
            return string.Join(", ", JsonNode.Parse(Paths(cluster))!["paths"]!.AsArray().Select(p => $"{p!["id"]} {p["state"]}").Order());
        }
        catch (System.Text.Json.JsonException)
        {
            return "(no answer)";
        }
    }

    /// <summary>
    /// east's pods: voice (latency-sensitive, at most 120 ms), backup (bulk), plain, whose class the tests change
    /// with <c>lab apply</c> (its annotation, the pod itself untouched), and guaranteed (10 Mbit/s at least).
    /// </summary>
    public static string EastPods(string plainClass) => $$$"""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Pod
          metadata: {name: voice, namespace: default, annotations: {patronus.io/qos-class: latency-sensitive, patronus.io/max-latency-ms: "120"}}
          spec: {nodeName: node-2, containers: [{name: c, image: busybox}]}
        - apiVersion: v1
          kind: Pod
          metadata: {name: backup, namespace: default, annotations: {patronus.io/qos-class: bulk}}
          spec: {nodeName: node-2, containers: [{name: c, image: busybox}]}
        - apiVersion: v1
          kind: Pod
          metadata: {name: plain, namespace: default, annotations: {patronus.io/qos-class: {{{plainClass}}}}}
          spec: {nodeName: node-2, containers: [{name: c, image: busybox}]}
        - apiVersion: v1
          kind: Pod
          metadata: {name: guaranteed, namespace: default, annotations: {patronus.io/min-bandwidth-mbps: "10"}}
          spec: {nodeName: node-2, containers: [{name: c, image: busybox}]}
        """;

    public Task DisposeAsync()
    {
        Cli.Dispose();
        Directory.Delete(_files, recursive: true);
        return Task.CompletedTask;
    }
}

[Collection(TimingLabCollection.Name)]
public sealed class PathsLabTests(PathsLabFixture lab, ITestOutputHelper output) : IClassFixture<PathsLabFixture>
{
    // Round trips through each link: twice its one-way delay, plus the relay's and WireGuard's own time.
    private const double FastRttBelowMs = 40;
    private const double SlowRttAboveMs = 75;

    private sealed record Pod(string Name, string Netns, IPAddress Address);

    private Pod PodNamed(string name) =>
        lab.Status["clusters"]!.AsArray().SelectMany(c => c!["pods"]!.AsArray())
            .Where(p => (string?)p!["name"] == name)
            .Select(p => new Pod(name, (string)p!["netns"]!, IPAddress.Parse((string)p["ips"]![0]!))).Single();

    private JsonNode Gateway(string cluster) => lab.Gateway(cluster);

    [Fact]
    public async Task BothLinksHealthy_TheLatencySensitivePodTakesFast_AndFastScoresAboveSlow()
    {
        var voice = PodNamed("voice");
        var server = PodNamed("server");
        await OnFastAsync(voice, server);
        var rtt = Rtt(voice.Netns, server.Address, count: 10)!.Value;
        output.WriteLine($"voice → server RTT over fast: {rtt:0.0} ms");
        Assert.True(rtt < FastRttBelowMs, $"{rtt} ms");

        Assert.True(await Poll.UntilAsync(() => Metric("east", "patronus_path_score", "fast") > Metric("east", "patronus_path_score", "slow"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500)),
            $"scores: fast {Metric("east", "patronus_path_score", "fast")}, slow {Metric("east", "patronus_path_score", "slow")}");
        output.WriteLine($"scores while both are healthy: fast {Metric("east", "patronus_path_score", "fast"):0.0}, slow {Metric("east", "patronus_path_score", "slow"):0.0}");
        Assert.Equal(2, Metric("east", "patronus_path_state", "fast"));
        Assert.Equal(2, Metric("east", "patronus_path_state", "slow"));
        // Probes measure each path inside its own tunnel: fast's round trip about 10 ms, slow's about 80 ms.
        Assert.InRange(Metric("east", "patronus_path_latency_ms", "fast")!.Value, 9, FastRttBelowMs);
        Assert.InRange(Metric("east", "patronus_path_latency_ms", "slow")!.Value, SlowRttAboveMs, 200);
        Assert.Contains("patronus_pod_latency_ms{src_cluster=\"east\",dst_cluster=\"west\",qos_class=\"latency-sensitive\"}", Metrics("east"));

        // `patronus paths` says the same: both paths Up, and which path each class and the pods with their own SLA use.
        var table = lab.Paths("east", "table");
        output.WriteLine(table);
        Assert.Contains("Active paths: 2 (Up: 2, Degraded: 0, Down: 0)", table);
        Assert.Matches(@"Best path:\s+fast → west", table);
        var paths = JsonNode.Parse(lab.Paths("east"))!;
        Assert.Equal("fast", (string?)paths["classes"]!.AsArray().Single(c => (string?)c!["qosClass"] == "latency-sensitive")!["path"]);
        Assert.Contains(paths["pods"]!.AsArray(), p => (string?)p!["name"] == "voice" && (double?)p["maxLatencyMs"] == 120 && (string?)p["path"] == "fast");
        Assert.Contains(paths["pods"]!.AsArray(), p => (string?)p!["name"] == "guaranteed" && (double?)p["minBandwidthMbps"] == 10);
    }

    /// <summary>
    /// fast is limited to 50 Mbit/s; backup (bulk) floods it with UDP while guaranteed, asking for 10 Mbit/s, sends over
    /// TCP: the HTB tree on east's fast device keeps guaranteed's share.
    /// </summary>
    [Fact]
    public async Task APodWithAMinimumBandwidth_KeepsIt_WhileABulkPodSaturatesThePath()
    {
        var guaranteed = PodNamed("guaranteed");
        var backup = PodNamed("backup");
        var server = PodNamed("server");
        await OnFastAsync(guaranteed, server);
        await OnFastAsync(backup, server);
        var device = (string)JsonNode.Parse(lab.Paths("east"))!["paths"]!.AsArray().Single(p => (string?)p!["id"] == "fast")!["device"]!;
        var classes = LabCli.InNamespace((string)Gateway("east")["netns"]!, "tc", "class", "show", "dev", device).Stdout;
        Assert.Contains("htb", classes);
        using var bulkServer = LabCli.StartInNamespace(server.Netns, "iperf3", "-s", "-p", "5311");
        using var guaranteedServer = LabCli.StartInNamespace(server.Netns, "iperf3", "-s", "-p", "5312");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var flood = Task.Run(() => LabCli.InNamespace(backup.Netns, "iperf3", "-c", server.Address.ToString(), "-p", "5311", "-u", "-b", "100M", "-l", "1300", "-t", "12"));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var measured = LabCli.InNamespace(guaranteed.Netns, "iperf3", "-c", server.Address.ToString(), "-p", "5312", "-t", "6", "-J");
        await flood;
        Assert.True(measured.ExitCode == 0, measured.Stdout + measured.Stderr);
        var mbps = JsonNode.Parse(measured.Stdout)!["end"]!["sum_received"]!["bits_per_second"]!.GetValue<double>() / 1e6;
        output.WriteLine($"guaranteed (min 10 Mbit/s) while backup floods fast (50 Mbit/s) with 100 Mbit/s of UDP: {mbps:0.0} Mbit/s");
        Assert.True(mbps >= 10, $"{mbps:0.0} Mbit/s\n{LabCli.InNamespace((string)Gateway("east")["netns"]!, "tc", "-s", "class", "show", "dev", device).Stdout}");
    }

    [Fact]
    public async Task FastLosingAFifthOfItsPackets_ScoresBelowSlow()
    {
        var voice = PodNamed("voice");
        var server = PodNamed("server");
        await OnFastAsync(voice, server);
        try
        {
            lab.Cli.Must("wan", "fast", "--name", lab.Name, "--loss", "20");
            Assert.True(await Poll.UntilAsync(() => Metric("east", "patronus_path_score", "slow") > Metric("east", "patronus_path_score", "fast"), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(500)),
                $"scores: fast {Metric("east", "patronus_path_score", "fast")}, slow {Metric("east", "patronus_path_score", "slow")}");
            output.WriteLine($"scores while fast loses 20%: fast {Metric("east", "patronus_path_score", "fast"):0.0}, slow {Metric("east", "patronus_path_score", "slow"):0.0}");
        }
        finally
        {
            lab.Cli.Must("wan", "fast", "--name", lab.Name, "--loss", "0");
        }
    }

    /// <summary>
    /// voice may have 120 ms: fast slowed to 80 ms each way (160 ms round trip) breaks that, slow (about 80 ms) meets
    /// it. Its traffic moves to slow; back to fast once fast is good again for the hold-down time. Meanwhile plain, a
    /// best-effort pod, is on slow too (the higher score now); made bulk by its annotation, without being restarted, it
    /// moves to fast, the path with spare capacity (bulk does not mind 160 ms).
    /// </summary>
    [Fact]
    public async Task FastSlowerThanThePodsMaxLatency_MovesItToSlow_ThenBackAfterTheHoldDown_AndAnAnnotationChangeTakesEffectInPlace()
    {
        var voice = PodNamed("voice");
        var plain = PodNamed("plain");
        var server = PodNamed("server");
        await OnFastAsync(voice, server);
        await OnFastAsync(plain, server);
        try
        {
            lab.Cli.Must("wan", "fast", "--name", lab.Name, "--delay", "80");
            Assert.True(await Poll.UntilAsync(() => Rtt(voice.Netns, server.Address) is > SlowRttAboveMs and < 120, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200)),
                $"voice's RTT {Rtt(voice.Netns, server.Address)} ms: not on slow");
            Assert.True(await Poll.UntilAsync(() => Rtt(plain.Netns, server.Address) is > SlowRttAboveMs and < 120, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200)),
                $"plain's RTT {Rtt(plain.Netns, server.Address)} ms: best-effort is not on slow\n{lab.Paths("east", "table")}");

            File.WriteAllText(Path.Combine(lab.Files, "east.yaml"), PathsLabFixture.EastPods("bulk"));
            lab.Cli.Must("apply", "-f", Path.Combine(lab.Files, "east.yaml"), "--name", lab.Name, "--cluster", "east");
            // east → west moves to fast (80 ms); west's replies keep west's own choice (slow, 40 ms, or fast): above 110 ms either way.
            Assert.True(await Poll.UntilAsync(() => Rtt(plain.Netns, server.Address) > 110, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200)),
                $"plain's RTT {Rtt(plain.Netns, server.Address)} ms: its new annotation did not move it to fast\n{lab.Paths("east", "table")}");
            // The same pod, not a new one: its address is unchanged.
            var now = lab.Cli.Status(lab.Name)["clusters"]!.AsArray().SelectMany(c => c!["pods"]!.AsArray()).Single(p => (string?)p!["name"] == "plain")!;
            Assert.Equal(plain.Address.ToString(), (string?)now["ips"]![0]);

            lab.Cli.Must("wan", "fast", "--name", lab.Name, "--delay", "5");
            // The hold-down counts from the moment the relay applied the change (it stamps its applied file then),
            // not from when the CLI returned: the CLI's own exit can take a few hundred ms under load.
            var restored = File.GetLastWriteTimeUtc(lab.AppliedFile("fast"));
            Assert.True(await Poll.UntilAsync(() => Rtt(voice.Netns, server.Address) < FastRttBelowMs, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200)), "voice never returned to fast");
            var back = DateTime.UtcNow - restored;
            output.WriteLine($"voice back on fast {back.TotalSeconds:0.0} s after fast was restored (hold-down 2 s)");
            Assert.True(back >= TimeSpan.FromSeconds(2), $"back after {back.TotalMilliseconds:0} ms, before the hold-down");
        }
        finally
        {
            lab.Cli.Must("wan", "fast", "--name", lab.Name, "--delay", "5");
            File.WriteAllText(Path.Combine(lab.Files, "east.yaml"), PathsLabFixture.EastPods("best-effort"));
            lab.Cli.Must("apply", "-f", Path.Combine(lab.Files, "east.yaml"), "--name", lab.Name, "--cluster", "east");
        }
    }

    /// <summary>
    /// <c>lab wan fast --down</c> under a 10 ms UDP stream each way between voice and the server, ten times: the longest
    /// gap at the receiver is the time from the moment the path broke to the moment traffic arrived over slow
    /// (detection plus switch, on both gateways). A TCP transfer running across the first failover completes.
    /// </summary>
    [Fact]
    public async Task FastCut_TenTrialsUnderA10msUdpStream_TrafficMovesToSlowWellWithin300ms_AndATcpTransferSurvives()
    {
        var voice = PodNamed("voice");
        var server = PodNamed("server");
        using var iperf = LabCli.StartInNamespace(server.Netns, "iperf3", "-s", "-p", "5301");
        var gaps = new List<double>();
        for (var trial = 0; trial < 10; trial++)
        {
            await OnFastAsync(voice, server);
            using var outbound = new UdpStream(voice.Netns, voice.Address, server.Netns, server.Address, 7300 + (2 * trial), TimeSpan.FromMilliseconds(10));
            using var inbound = new UdpStream(server.Netns, server.Address, voice.Netns, voice.Address, 7301 + (2 * trial), TimeSpan.FromMilliseconds(10));
            Task<CommandResult>? transfer = null;
            try
            {
                Assert.True(outbound.WaitForArrivals(50, TimeSpan.FromSeconds(10)) && inbound.WaitForArrivals(50, TimeSpan.FromSeconds(10)), "the streams must flow before the cut");
                if (trial == 0)
                {
                    transfer = Task.Run(() => LabCli.InNamespace(voice.Netns, "iperf3", "-c", server.Address.ToString(), "-p", "5301", "-t", "6", "-b", "5M", "-J"));
                    await Task.Delay(TimeSpan.FromSeconds(1));
                }
                lab.Cli.Must("wan", "fast", "--name", lab.Name, "--down");
                var arrivedOut = outbound.Received;
                var arrivedIn = inbound.Received;
                Assert.True(outbound.WaitForArrivals(arrivedOut + 100, TimeSpan.FromSeconds(10)), $"trial {trial}: voice → server stopped with fast");
                Assert.True(inbound.WaitForArrivals(arrivedIn + 100, TimeSpan.FromSeconds(10)), $"trial {trial}: server → voice stopped with fast");
                var resultOut = outbound.Stop();
                var resultIn = inbound.Stop();
                output.WriteLine($"trial {trial}: voice → server {resultOut}; server → voice {resultIn}");
                gaps.Add(Math.Max(resultOut.LongestGap.TotalMilliseconds, resultIn.LongestGap.TotalMilliseconds));
                if (transfer is not null)
                {
                    var result = await transfer;
                    Assert.True(result.ExitCode == 0, $"the TCP transfer across the failover failed: {result.Stdout}{result.Stderr}");
                    var received = JsonNode.Parse(result.Stdout)!["end"]!["sum_received"]!["bytes"]!.GetValue<long>();
                    output.WriteLine($"TCP transfer across the failover: {received} bytes received, exit 0");
                    Assert.True(received > 1_000_000, $"{received} bytes");
                }
            }
            finally
            {
                lab.Cli.Must("wan", "fast", "--name", lab.Name, "--up");
            }
        }
        gaps.Sort();
        var p50 = gaps[gaps.Count / 2];
        output.WriteLine($"longest gap over 10 trials: p50 {p50:0} ms, max {gaps[^1]:0} ms (target under 300 ms)");
        Assert.True(p50 < 300, $"p50 {p50} ms");
        // Generous for the test (a loaded CI machine delays ticks); bench/paths measures the exact figures.
        Assert.True(gaps[^1] < 1000, $"max {gaps[^1]} ms");
    }

    /// <summary>
    /// fast goes down and comes back every second for a minute: the pod's path must not follow each flap. It fails
    /// over once and does not come back while fast keeps failing (coming back needs the hold-down's good time).
    /// </summary>
    [Fact]
    public async Task FastFlappingEverySecondForAMinute_MovesThePodsTrafficOnlyAFewTimes()
    {
        var voice = PodNamed("voice");
        var server = PodNamed("server");
        await OnFastAsync(voice, server);
        var before = Changes("latency-sensitive");
        try
        {
            var until = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            var down = true;
            while (DateTime.UtcNow < until)
            {
                lab.Cli.Must("wan", "fast", "--name", lab.Name, down ? "--down" : "--up");
                down = !down;
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
        finally
        {
            lab.Cli.Must("wan", "fast", "--name", lab.Name, "--up");
        }
        var changes = Changes("latency-sensitive") - before;
        output.WriteLine($"fast flapping every second for 60 s: latency-sensitive traffic changed path {changes} times (failovers and returns)");
        Assert.InRange(changes, 1, 4);
    }

    /// <summary>Waits until the pod's traffic to the server takes fast (its round trip is fast's).</summary>
    private async Task OnFastAsync(Pod pod, Pod server)
    {
        Assert.True(await Poll.UntilAsync(() => Rtt(pod.Netns, server.Address) < FastRttBelowMs, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)),
            $"{pod.Name} → server does not take fast: RTT {Rtt(pod.Netns, server.Address)} ms\neast:\n{lab.Paths("east", "table")}\nwest:\n{lab.Paths("west", "table")}");
    }

    /// <summary>The average round trip of a few pings, or null when none came back.</summary>
    private static double? Rtt(string netns, IPAddress to, int count = 3)
    {
        var result = LabCli.InNamespace(netns, "ping", "-c", count.ToString(CultureInfo.InvariantCulture), "-i", "0.05", "-W", "1", to.ToString());
        var match = Regex.Match(result.Stdout, @"= [\d.]+/([\d.]+)/");
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private string Metrics(string cluster)
    {
        var node = Gateway(cluster);
        var result = LabCli.InNamespace((string)node["netns"]!, "busybox", "wget", "-q", "-O", "-", (string)node["metrics"]!);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return result.Stdout;
    }

    private double? Metric(string cluster, string name, string path)
    {
        var match = Regex.Match(Metrics(cluster), $@"^{name}\{{src=""{cluster}"",dst=""[^""]+"",path_id=""{path}""\}} (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private double Changes(string qosClass)
    {
        var match = Regex.Match(Metrics("east"), $@"^patronus_path_changes_total\{{src=""east"",dst=""west"",qos_class=""{qosClass}""\}} (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}

/// <summary>
/// Labs whose tests measure failover gaps in milliseconds: run alone, after the others, so that another lab's relays,
/// wireguard-go and iperf3 floods (two cores in CI) do not stretch the gaps they measure. (The two-gateway kill drill
/// measured 1.1 s once in a full run, with the paths lab's flood and other labs running beside it.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingLabCollection
{
    public const string Name = "timing-sensitive labs";
}
