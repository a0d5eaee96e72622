using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Patronus.Cli.Lab;
using Patronus.Cli.Reach;
using Patronus.Cli.Tests.Support;
using Patronus.Netlink;
using Patronus.Policy.Compiled;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Lab;

/// <summary>
/// kill -9 of the real agent under traffic, in a lab built from the three-tier example: the rules live in the
/// kernel, so allowed traffic keeps flowing and denied traffic stays denied while the agent is dead and while
/// the new one reconciles, and the restarted agent converges on the same rule set.
/// </summary>
[Collection(LabCollection.Name)]
public partial class AgentRestartTests
{
    private static readonly Probe Api = new(8080, Protocol.Tcp);
    private static readonly Probe Postgres = new(5432, Protocol.Tcp);

    [Theory]
    [InlineData("nftables")]
    [InlineData("ebpf")]
    public async Task AgentKilledUnderTraffic_AllowedKeepsFlowing_DeniedStaysDenied_RulesConverge(string datapath)
    {
        string[] files = [Repository.Path("examples/three-tier/cluster.yaml"), Repository.Path("examples/three-tier/policies.yaml")];
        var (_, pods) = LabCommand.Load(files, TextWriter.Null);
        var binaries = new LabBinaries(Path.GetDirectoryName(Repository.Artifact("patronus-cni"))!, Repository.Artifact("patronus-agent"));
        using var cluster = LabCluster.Build(LabTopology.Plan(pods), files, binaries, TextWriter.Null, CancellationToken.None, datapath);
        using var prober = new LabProber();
        prober.Listen(cluster.Pods, [Postgres]);
        var frontend = pods.Single(p => p.Id.Name == "frontend");
        var backend = pods.Single(p => p.Id.Name == "backend");
        var database = pods.Single(p => p.Id.Name == "database");
        var node = cluster.NodeNamespace(frontend.Node);
        string Rules() => datapath == "ebpf" ? EbpfMaps.Normalized(cluster.NodeBpffs(frontend.Node)) : Ruleset(node);
        var rulesBefore = Rules();

        // A long-lived allowed connection (frontend -> backend:8080, the api port) that echoes every few milliseconds.
        using var server = cluster.Pods[backend].Run(() => Listen(Api.Port));
        var echo = OnOwnThread("echo server", () => EchoServer(server));
        using var connection = cluster.Pods[frontend].Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await connection.ConnectAsync(new IPEndPoint(backend.Addresses[0], Api.Port)).WaitAsync(TimeSpan.FromSeconds(5));
        using var stop = new CancellationTokenSource();
        var flow = OnOwnThread("echo client", () => EchoUntil(connection, stop.Token));
        // Meanwhile, new connections on a denied path (frontend -> database:5432) over and over.
        var denied = ProbeUntil(prober, cluster.Pods[frontend], database, Postgres, stop.Token);

        await Task.Delay(500);
        await OnOwnThread("kill", () => cluster.KillAgent(frontend.Node));
        await Task.Delay(1000);
        var allowedWhileDead = await prober.ReachesAsync(cluster.Pods[backend], database, Postgres, CancellationToken.None);
        await OnOwnThread("restart", () => cluster.RestartAgent(frontend.Node, CancellationToken.None));
        await Task.Delay(1000);
        stop.Cancel();

        var (echoes, failures, slowest) = await flow;
        var (attempts, gotThrough) = await denied;
        Assert.True(failures == 0, $"{failures} echoes failed or took over {EchoBound.TotalSeconds} s (slowest {slowest.TotalMilliseconds:F0} ms)");
        Assert.True(echoes > 20, $"only {echoes} echoes went through the long-lived connection");
        Assert.True(attempts > 5, $"only {attempts} denied probes were made");
        Assert.Equal(0, gotThrough);
        Assert.True(allowedWhileDead, "backend -> database:5432 (allowed) failed while the agent was dead");
        Assert.True(await prober.ReachesAsync(cluster.Pods[backend], database, Postgres, CancellationToken.None), "allowed traffic fails after the restart");
        // The restarted agent writes its own generation of rules, then sweeps the old one after an RCU grace period:
        // converging takes a moment more under load, but must end where it began.
        var rulesAfter = Rules();
        await Poll.UntilAsync(() => (rulesAfter = Rules()) == rulesBefore, TimeSpan.FromSeconds(30));
        Assert.Equal(rulesBefore, rulesAfter);
        connection.Dispose();
        server.Dispose();
        await echo.WaitAsync(TimeSpan.FromSeconds(5));
    }

    internal static Socket Listen(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Any, port));
        socket.Listen(8);
        return socket;
    }

    /// <summary>
    /// Runs blocking work on a thread of its own. The echo endpoints must not wait for the thread pool: in the drill's
    /// first form (async sockets, continuations on the pool) an echo took up to 0.9 s under load while a capture in
    /// the node namespace showed every packet crossing the datapath within 0.2 ms, so the test measured its own
    /// scheduling. The agent's kill and restart block for seconds, so they do not take a pool thread either.
    /// </summary>
    internal static Task<T> OnOwnThread<T>(string name, Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        return done.Task;
    }

    internal static Task OnOwnThread(string name, Action work) => OnOwnThread(name, () =>
    {
        work();
        return 0;
    });

    internal static readonly TimeSpan EchoBound = TimeSpan.FromSeconds(1);

    internal static void EchoServer(Socket listener)
    {
        try
        {
            using var connection = listener.Accept();
            var buffer = new byte[64];
            int read;
            while ((read = connection.Receive(buffer)) > 0)
                connection.Send(buffer.AsSpan(0, read));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>One byte there and back, over and over: an echo that fails or takes longer than <see cref="EchoBound"/> is a gap.</summary>
    internal static (int Echoes, int Failures, TimeSpan Slowest) EchoUntil(Socket connection, CancellationToken stop)
    {
        int echoes = 0, failures = 0;
        var slowest = TimeSpan.Zero;
        var buffer = new byte[1];
        connection.SendTimeout = (int)EchoBound.TotalMilliseconds;
        connection.ReceiveTimeout = (int)EchoBound.TotalMilliseconds;
        while (!stop.IsCancellationRequested)
        {
            var began = Stopwatch.GetTimestamp();
            try
            {
                connection.Send([42]);
                var read = connection.Receive(buffer);
                var took = Stopwatch.GetElapsedTime(began);
                slowest = took > slowest ? took : slowest;
                if (read == 1 && buffer[0] == 42 && took <= EchoBound)
                    echoes++;
                else
                    failures++;
            }
            catch (SocketException)
            {
                var took = Stopwatch.GetElapsedTime(began);
                slowest = took > slowest ? took : slowest;
                failures++;
            }
            Thread.Sleep(10);
        }
        return (echoes, failures, slowest);
    }

    private static async Task<(int Attempts, int GotThrough)> ProbeUntil(LabProber prober, NetNs from, LabPod to, Probe probe, CancellationToken stop)
    {
        int attempts = 0, through = 0;
        while (!stop.IsCancellationRequested)
        {
            // Short-lived tries so that the window around the kill and the restart is covered densely.
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stop);
            attempt.CancelAfter(TimeSpan.FromMilliseconds(200));
            try
            {
                attempts++;
                if (await prober.ReachesAsync(from, to, probe, attempt.Token))
                    through++;
            }
            catch (OperationCanceledException)
            {
            }
        }
        return (attempts, through);
    }

    /// <summary>
    /// The node's Patronus table as nft prints it, as a sorted list of its sets, maps, counters and chains: an
    /// incremental update and a full reconcile may add them in another order. Counter values are left out (they move with traffic).
    /// </summary>
    private static string Ruleset(NetNs node)
    {
        var start = new ProcessStartInfo("nsenter", ["--net=" + node.Path, "nft", "list", "table", "inet", "patronus"])
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        // Without the table's own closing brace, which would otherwise stick to whichever block comes last.
        var body = text.TrimEnd()[..^1];
        var blocks = TopLevel().Split(Counters().Replace(body, "packets N bytes N"));
        return string.Join("\n", blocks.Select(b => b.Trim()).Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"packets \d+ bytes \d+")]
    private static partial Regex Counters();

    [GeneratedRegex(@"\n(?=\t(?:set|map|chain|counter) )")]
    private static partial Regex TopLevel();
}
