using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Client.Protocol;
using Patronus.Cli.Paths;

namespace Patronus.Cli.Tests.Paths;

public sealed class PathsCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pagt-paths-").FullName;

    private string SocketPath => Path.Combine(_directory, "agent.sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    internal static readonly PathsStatus TwoRemotes = new()
    {
        ClusterId = "aws-us-east1", Node = "gw-1", Gateway = true, ProbeIntervalMs = 50,
        Paths =
        [
            new PathReport
            {
                Id = "fast", Remote = "gcp-us-central1", RemoteGateway = "gcp-gw-1", Device = "pat-fast", State = "Up", Score = 92.4,
                LatencyMs = 10.24, JitterMs = 0.51, LossPercent = 0, CapacityMbps = 50, SpareMbps = 38.5, Failovers = 0, StateSinceSeconds = 754.9,
            },
            new PathReport
            {
                Id = "slow", Remote = "gcp-us-central1", RemoteGateway = "gcp-gw-1", Device = "pat-slow", State = "Degraded", Score = 61,
                LatencyMs = 80.44, JitterMs = 4.2, LossPercent = 2, Failovers = 2, StateSinceSeconds = 42.7,
            },
            new PathReport
            {
                Id = "fast", Remote = "dc1", RemoteGateway = "dc1-gw", Device = "pat-fast-dc1", State = "Up", Score = 88,
                LatencyMs = 12, JitterMs = 1, LossPercent = 0.05, SpareMbps = 700, StateSinceSeconds = 3700,
            },
            new PathReport
            {
                Id = "lte", Remote = "dc1", RemoteGateway = "dc1-gw", Device = "pat-lte-dc1", State = "Down", Score = 0,
                LossPercent = 100, Failovers = 1, StateSinceSeconds = 5.2,
            },
        ],
        Classes =
        [
            new PathChoiceReport { QosClass = "latency-sensitive", Remote = "gcp-us-central1", Path = "fast", Reason = "lowest latency within the SLA" },
            new PathChoiceReport { QosClass = "bulk", Remote = "gcp-us-central1", Path = "fast", Reason = "most spare capacity" },
            new PathChoiceReport { QosClass = "bulk", Remote = "dc1", Path = null, Reason = "no path meets the SLA" },
        ],
        Pods =
        [
            new PodPathReport
            {
                Namespace = "shop", Name = "checkout", Ips = ["10.244.1.5", "fd00::5"], QosClass = "latency-sensitive",
                MaxLatencyMs = 20, MinBandwidthMbps = 10, Remote = "gcp-us-central1", Path = "fast",
            },
        ],
    };

    private static string Render(PathsStatus status)
    {
        var output = new StringWriter();
        PathsCommand.Render(status, output);
        return output.ToString().ReplaceLineEndings("\n");
    }

    [Fact]
    public void Render_TwoRemotes_ReportsCountsBestWorstPathsClassesAndPods()
    {
        Assert.Equal(
            """
            Cluster aws-us-east1, node gw-1: gateway, probing every 50 ms
            Active paths: 4 (Up: 2, Degraded: 1, Down: 1)
            Best path:  fast → gcp-us-central1 (score 92, latency 10.2 ms, loss 0.0%)
            Worst path: lte → dc1 (score 0, latency -, loss 100.0%)

            PATH  REMOTE           GATEWAY   DEVICE        STATE     SINCE   SCORE  LATENCY  JITTER  LOSS    SPARE           FAILOVERS
            fast  gcp-us-central1  gcp-gw-1  pat-fast      Up        12m34s  92     10.2 ms  0.5 ms  0.0%    38.5/50 Mbit/s  0
            slow  gcp-us-central1  gcp-gw-1  pat-slow      Degraded  42s     61     80.4 ms  4.2 ms  2.0%    -               2
            fast  dc1              dc1-gw    pat-fast-dc1  Up        1h01m   88     12.0 ms  1.0 ms  0.05%   700 Mbit/s      0
            lte   dc1              dc1-gw    pat-lte-dc1   Down      5s      0      -        -       100.0%  -               1

            QOS CLASS          REMOTE           PATH  REASON
            latency-sensitive  gcp-us-central1  fast  lowest latency within the SLA
            bulk               gcp-us-central1  fast  most spare capacity
            bulk               dc1              none  no path meets the SLA

            POD            IPS                 QOS CLASS          MAX LATENCY  MIN BANDWIDTH  REMOTE           PATH
            shop/checkout  10.244.1.5,fd00::5  latency-sensitive  20.0 ms      10 Mbit/s      gcp-us-central1  fast

            """.ReplaceLineEndings("\n"), Render(TwoRemotes));
    }

    [Fact]
    public void Render_NoPaths_SaysSoAndStops()
    {
        Assert.Equal(
            """
            Cluster aws, node gw-1: gateway, probing every 50 ms
            Active paths: 0 (Up: 0, Degraded: 0, Down: 0)

            """.ReplaceLineEndings("\n"), Render(new PathsStatus { ClusterId = "aws", Node = "gw-1", Gateway = true, ProbeIntervalMs = 50 }));
    }

    [Fact]
    public void Render_NotAGateway_NamesTheProblem()
    {
        Assert.Equal(
            """
            Cluster aws, node worker-3: not a gateway (the gateway nodes probe the paths)
            Problem: this node is not a gateway; ask the agent on gw-1

            """.ReplaceLineEndings("\n"), Render(new PathsStatus { ClusterId = "aws", Node = "worker-3", Gateway = false, Problem = "this node is not a gateway; ask the agent on gw-1" }));
    }

    [Fact]
    public void Render_EveryPathDown_HasNoBestPath()
    {
        var down = new PathsStatus
        {
            ClusterId = "aws", Node = "gw-1", Gateway = true, ProbeIntervalMs = 100,
            Paths =
            [
                new PathReport { Id = "fast", Remote = "gcp", RemoteGateway = "g1", Device = "pat-fast", State = "Down", Score = 12, LatencyMs = 300, LossPercent = 80, Failovers = 3, StateSinceSeconds = 61 },
                new PathReport { Id = "slow", Remote = "gcp", RemoteGateway = "g1", Device = "pat-slow", State = "Down", Score = 0, LossPercent = 100, Failovers = 1, StateSinceSeconds = 0.4 },
            ],
            Classes = [new PathChoiceReport { QosClass = "best-effort", Remote = "gcp", Reason = "every path is Down" }],
        };

        Assert.Equal(
            """
            Cluster aws, node gw-1: gateway, probing every 100 ms
            Active paths: 2 (Up: 0, Degraded: 0, Down: 2)
            Best path:  none (every path is Down)
            Worst path: slow → gcp (score 0, latency -, loss 100.0%)

            PATH  REMOTE  GATEWAY  DEVICE    STATE  SINCE  SCORE  LATENCY   JITTER  LOSS    SPARE  FAILOVERS
            fast  gcp     g1       pat-fast  Down   1m01s  12     300.0 ms  -       80.0%   -      3
            slow  gcp     g1       pat-slow  Down   0s     0      -         -       100.0%  -      1

            QOS CLASS    REMOTE  PATH  REASON
            best-effort  gcp     none  every path is Down

            """.ReplaceLineEndings("\n"), Render(down));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(59.9, "59s")]
    [InlineData(60, "1m00s")]
    [InlineData(3599, "59m59s")]
    [InlineData(3600, "1h00m")]
    [InlineData(90061, "1d01h")]
    [InlineData(-3, "0s")]
    public void Duration_IsCompact(double seconds, string expected) => Assert.Equal(expected, PathsCommand.Duration(seconds));

    private (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = PathsCommand.Create().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString().ReplaceLineEndings("\n"), error.ToString());
    }

    /// <summary>An agent's socket that answers one request with <paramref name="reply"/>, returning the op it was asked.</summary>
    private Task<string> AnswerOnce(AgentReply reply)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen();
        return Task.Run(() =>
        {
            using (listener)
            {
                using var connection = listener.Accept();
                using var reader = new StreamReader(new NetworkStream(connection));
                var request = AgentProtocol.DecodeRequest(Encoding.UTF8.GetBytes(reader.ReadLine()!));
                connection.Send(AgentProtocol.EncodeReply(reply));
                return request.Op;
            }
        });
    }

    [Fact]
    public async Task Table_AgentAnswers_PrintsTheReport()
    {
        var agent = AnswerOnce(new AgentReply { Ok = true, Paths = TwoRemotes });

        var (exit, output, error) = Run("--socket", SocketPath);

        Assert.Equal(PathsCommand.Success, exit);
        Assert.Equal(AgentOps.Paths, await agent);
        Assert.Equal(Render(TwoRemotes), output);
        Assert.Empty(error);
    }

    [Fact]
    public async Task Json_AgentAnswers_PrintsThePathsStatusInCamelCase()
    {
        var status = new PathsStatus
        {
            ClusterId = "aws", Node = "gw-1", Gateway = true, ProbeIntervalMs = 50,
            Paths = [new PathReport { Id = "fast", Remote = "gcp", RemoteGateway = "g1", Device = "pat-fast", State = "Up", Score = 92, LatencyMs = 10.5, JitterMs = 0.5, LossPercent = 0, Failovers = 1, StateSinceSeconds = 3 }],
            Classes = [new PathChoiceReport { QosClass = "bulk", Remote = "gcp", Path = "fast", Reason = "most spare capacity" }],
        };
        var agent = AnswerOnce(new AgentReply { Ok = true, Paths = status });

        var (exit, output, _) = Run("--socket", SocketPath, "-o", "json");

        Assert.Equal(PathsCommand.Success, exit);
        await agent;
        Assert.Equal(
            """{"clusterId":"aws","node":"gw-1","gateway":true,"probeIntervalMs":50,"paths":[{"id":"fast","remote":"gcp","remoteGateway":"g1","device":"pat-fast","state":"Up","score":92,"latencyMs":10.5,"jitterMs":0.5,"lossPercent":0,"failovers":1,"stateSinceSeconds":3}],"classes":[{"qosClass":"bulk","remote":"gcp","path":"fast","reason":"most spare capacity"}],"pods":[]}""" + "\n",
            output);
    }

    [Fact]
    public async Task AgentRefuses_SaysWhyAndFails()
    {
        var agent = AnswerOnce(AgentReply.Failure("paths: WAN paths are not available on this agent (no mesh, or this node is not a gateway)"));

        var (exit, output, error) = Run("--socket", SocketPath);

        Assert.Equal(PathsCommand.Failed, exit);
        await agent;
        Assert.Empty(output);
        Assert.Equal("patronus paths: the agent refused: paths: WAN paths are not available on this agent (no mesh, or this node is not a gateway)\n", error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AgentNotRunning_SaysSoAndFails()
    {
        var (exit, output, error) = Run("--socket", SocketPath);

        Assert.Equal(PathsCommand.Failed, exit);
        Assert.Empty(output);
        Assert.StartsWith("patronus paths: the Patronus agent is not running on this node (patronus-agent is not reachable at " + SocketPath, error);
        Assert.Contains("point to its socket with --socket PATH.", error);
        Assert.DoesNotContain("   at ", error);
    }
}
