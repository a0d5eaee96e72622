using System.Net;
using System.Net.Sockets;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Testing;
using Xunit.Abstractions;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>
/// ClusterSetIPs in the kernel, for real: the merged service of two clusters programmed through libnftables into a client
/// namespace, and TCP connections to its VIPs answered by backend namespaces standing for the clusters.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterSetDatapathTests : IDisposable
{
    private static readonly IPAddress Vip4 = IPAddress.Parse("10.112.0.7");
    private static readonly IPAddress Vip6 = IPAddress.Parse("fd00:112::7");
    private readonly ITestOutputHelper _output;
    private readonly ClusterSetLab _lab = new();
    private readonly ClusterSetDatapath _datapath;

    public ClusterSetDatapathTests(ITestOutputHelper output)
    {
        _output = output;
        try
        {
            _datapath = new ClusterSetDatapath(_lab.ClientPath);
            _lab.Serve(_lab.A, "10.10.1.2", 8080);
            _lab.Serve(_lab.A, "10.10.1.3", 8080);
            _lab.Serve(_lab.A, "fd10:1::2", 8080);
            _lab.Serve(_lab.B, "10.10.2.2", 9090);
            _lab.Serve(_lab.B, "10.10.2.2", 9191);
            _lab.Serve(_lab.B, "fd10:2::2", 9090);
        }
        catch
        {
            _lab.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _datapath.Dispose();
        _lab.Dispose();
    }

    /// <summary>shop/web exported by a (http 80 -> 8080; two pods) and b (http 80 -> 9090, admin 81 -> 9191; one pod), dual-stack.</summary>
    private static MergedService Web(SessionAffinity affinity = SessionAffinity.None, int? timeout = null) => ServiceMerger.Merge(
    [
        Export("a", 1, [Port("http", 80, target: 8080)], affinity: affinity, timeout: timeout, families: [IpFamily.IPv4, IpFamily.IPv6],
            endpoints: [new ReadyEndpoint([IPAddress.Parse("10.10.1.2"), IPAddress.Parse("fd10:1::2")], "web-0"), Endpoint("10.10.1.3", "web-1")]),
        Export("b", 2, [Port("http", 80, target: 9090), Port("admin", 81, target: 9191)], affinity: affinity, timeout: timeout, families: [IpFamily.IPv4, IpFamily.IPv6],
            endpoints: [new ReadyEndpoint([IPAddress.Parse("10.10.2.2"), IPAddress.Parse("fd10:2::2")], "web-0")]),
    ], out _)!;

    private void Program(MergedService service, IReadOnlySet<string>? withdrawn = null) =>
        _datapath.Program(ClusterSetVip.From(service, [Vip4, Vip6], withdrawn).ToList());

    private static string ClusterOf(string answer) => answer.StartsWith("10.10.1.") || answer.StartsWith("[fd10:1::") ? "a" : "b";

    [Fact]
    public void HundredConnections_ToTheVip_ReachTheBackendsOfBothClusters()
    {
        Program(Web());

        var answers = _lab.Connect(Vip4, 80, 100);

        var split = answers.GroupBy(a => a).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}").ToList();
        _output.WriteLine($"100 connections to {Vip4}:80: {string.Join(", ", split)}");
        Assert.All(answers, a => Assert.Contains(a, new[] { "10.10.1.2:8080", "10.10.1.3:8080", "10.10.2.2:9090" }));
        Assert.Contains(answers, a => ClusterOf(a) == "a");
        Assert.Contains(answers, a => ClusterOf(a) == "b");
        Assert.Equal(3, answers.Distinct().Count());
    }

    [Fact]
    public void Ipv6Vip_ReachesTheIpv6BackendsOfBothClusters()
    {
        Program(Web());

        var answers = _lab.Connect(Vip6, 80, 40);

        _output.WriteLine($"40 connections to [{Vip6}]:80: {string.Join(", ", answers.GroupBy(a => a).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}");
        Assert.Equal(["[fd10:1::2]:8080", "[fd10:2::2]:9090"], answers.Distinct().Order());
    }

    [Fact]
    public void PortOnlyOneClusterExposes_GoesOnlyToThatCluster()
    {
        Program(Web());

        var answers = _lab.Connect(Vip4, 81, 30);

        Assert.All(answers, a => Assert.Equal("10.10.2.2:9191", a));
    }

    [Fact]
    public void ClientIpAffinity_KeepsTheClientOnOneBackend()
    {
        Program(Web(SessionAffinity.ClientIP, 600));

        var answers = _lab.Connect(Vip4, 80, 30);

        Assert.Single(answers.Distinct());
        var sets = Command.Run("ip", ["netns", "exec", _lab.Client, "nft", "list", "table", "inet", "patronus-clusterset"]).Stdout;
        Assert.Contains("10.10.1.1 expires", sets);
    }

    [Fact]
    public void AffinityOfAClient_SurvivesAnUnrelatedChange()
    {
        Program(Web(SessionAffinity.ClientIP, 600));
        var first = Assert.Single(_lab.Connect(Vip4, 80, 1));
        // The admin port leaves b; the http backends and their affinity sets stay.
        var merged = Web(SessionAffinity.ClientIP, 600);
        _datapath.Program(ClusterSetVip.From(merged, [Vip4, Vip6]).Where(v => v.Port == 80).ToList());

        Assert.All(_lab.Connect(Vip4, 80, 10), a => Assert.Equal(first, a));
    }

    [Fact]
    public void WithdrawingACluster_SendsNewConnectionsToTheOthers_AndTheyComeBack()
    {
        Program(Web());
        Assert.Contains(_lab.Connect(Vip4, 80, 30), a => ClusterOf(a) == "a");

        Program(Web(), withdrawn: new HashSet<string> { "a" });
        Assert.All(_lab.Connect(Vip4, 80, 30), a => Assert.Equal("10.10.2.2:9090", a));

        Program(Web());
        Assert.Contains(_lab.Connect(Vip4, 80, 50), a => ClusterOf(a) == "a");
    }

    [Fact]
    public void EstablishedConnection_StaysOnItsBackend_AcrossTransactions()
    {
        Program(Web());
        _lab.InClient(() =>
        {
            using var socket = ClusterSetLab.Open(Vip4, 80);
            var backend = ClusterSetLab.ReadLine(socket);
            // Withdraw the other cluster, then bring it back: the connection's conntrack entry keeps it where it is.
            Program(Web(), withdrawn: new HashSet<string> { ClusterOf(backend) == "a" ? "b" : "a" });
            Program(Web());
            for (var i = 0; i < 5; i++)
            {
                socket.Send("again\n"u8.ToArray());
                Assert.Equal(backend, ClusterSetLab.ReadLine(socket));
            }
            return 0;
        });
    }

    [Fact]
    public void VipWithoutBackends_IsRefusedAtOnce()
    {
        Program(Web(), withdrawn: new HashSet<string> { "a", "b" });

        var error = Assert.Throws<InvalidOperationException>(() => _lab.Connect(Vip4, 80, 1));
        var socketError = Assert.IsType<SocketException>(error.InnerException is AggregateException aggregate ? aggregate.InnerException : error.InnerException);
        Assert.Equal(SocketError.ConnectionRefused, socketError.SocketErrorCode);
    }

    [Fact]
    public void Restart_ReplacesTheWholeTable()
    {
        Program(Web());
        using (var second = new ClusterSetDatapath(_lab.ClientPath))
            second.Program(ClusterSetVip.From(Web(), [Vip4], withdrawn: new HashSet<string> { "a" }).ToList());

        Assert.All(_lab.Connect(Vip4, 80, 20), a => Assert.Equal("10.10.2.2:9090", a));
        Assert.Throws<InvalidOperationException>(() => _lab.Connect(Vip6, 80, 1));
    }
}
