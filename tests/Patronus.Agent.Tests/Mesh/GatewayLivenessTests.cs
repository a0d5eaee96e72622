using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Mesh;
using Patronus.Agent.Mesh.Liveness;
using Patronus.Agent.Paths;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Mesh;

/// <summary>
/// Gateway liveness for real: a "node" namespace probes two "gateways" behind one veth, one answering (a
/// <see cref="ProbeResponder"/>), one silent (nothing on its port). A gateway dies by losing its address.
/// </summary>
public sealed class GatewayLivenessTests : IDisposable
{
    private readonly string _node = $"glv-n-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly string _gateway = $"glv-g-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly NetNs _nodeNs;
    private readonly NetNs _gatewayNs;

    public GatewayLivenessTests()
    {
        NetworkNamespace.Add(_node);
        try
        {
            NetworkNamespace.Add(_gateway);
            NetworkNamespace.Ip(_node, $"link add n0 type veth peer name g0 netns {_gateway}", "addr add 10.78.0.1/24 dev n0", "link set lo up", "link set n0 up");
            NetworkNamespace.Ip(_gateway, "addr add 10.78.0.2/24 dev g0", "link set lo up", "link set g0 up");
            _nodeNs = NetNs.OpenPath(NetworkNamespace.PathOf(_node));
            _gatewayNs = NetNs.OpenPath(NetworkNamespace.PathOf(_gateway));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _nodeNs?.Dispose();
        _gatewayNs?.Dispose();
        NetworkNamespace.TryDelete(_node);
        NetworkNamespace.TryDelete(_gateway);
    }

    [Fact]
    public async Task AnsweringGateway_IsLive_SilentOneDead_UntrackedLive_AndLosingItsNodeMakesItDead()
    {
        using var responder = new ProbeResponder(new IPEndPoint(IPAddress.IPv6Any, 0), _gatewayNs, NullLogger<ProbeResponder>.Instance);
        using var liveness = new GatewayLiveness("local", new PathHealthOptions(), _nodeNs, NullLoggerFactory.Instance);
        var changes = 0;
        liveness.Changed += () => Interlocked.Increment(ref changes);
        liveness.Track(new Dictionary<string, IPEndPoint>
        {
            ["gw-a"] = GatewayLiveness.Responder(IPAddress.Parse("10.78.0.2"), responder.LocalEndPoint.Port),
            ["gw-b"] = GatewayLiveness.Responder(IPAddress.Parse("10.78.0.2"), responder.LocalEndPoint.Port == 9 ? 10 : 9),
        });
        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(Task.Run(() => responder.RunAsync(stop.Token)), Task.Run(() => liveness.RunAsync(stop.Token)));
        try
        {
            // Not live before it has answered (a gateway starts dead), live once it has for the recovery hold-down.
            Assert.False(liveness.IsLive("gw-a"));
            Assert.True(await Poll.UntilAsync(() => liveness.HasAnswered("gw-a"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10)), "gw-a answers");
            Assert.True(await Poll.UntilAsync(() => liveness.IsLive("gw-a"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)), "gw-a answers, so it must become live");
            Assert.False(liveness.IsLive("gw-b"));
            Assert.False(liveness.HasAnswered("gw-b"));
            Assert.True(liveness.IsLive("not-tracked"));
            Assert.True(liveness.HasAnswered("not-tracked"));
            Assert.Equal(new Dictionary<string, bool> { ["gw-a"] = true, ["gw-b"] = false }, liveness.Gateways);
            Assert.Equal(1, Volatile.Read(ref changes));

            NetworkNamespace.Ip(_gateway, "addr del 10.78.0.2/24 dev g0");
            Assert.True(await Poll.UntilAsync(() => !liveness.IsLive("gw-a"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)), "gw-a lost its address, so it must be dead");
            Assert.Equal(2, Volatile.Read(ref changes));
            // Lost, not just met: it answered before.
            Assert.True(liveness.HasAnswered("gw-a"));

            // Tracking is the whole set each time: a gateway no longer listed is no longer probed (and counts as live).
            liveness.Track(new Dictionary<string, IPEndPoint>());
            Assert.Empty(liveness.Gateways);
            Assert.True(liveness.IsLive("gw-a"));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task AGatewayReachedOverTwoPaths_StaysLiveWhileEitherAnswers_AndIsDeadOnlyWhenBothAreSilent()
    {
        // A second network between the two: the gateway's second WAN leg.
        NetworkNamespace.Ip(_node, "addr add 10.79.0.1/24 dev n0");
        NetworkNamespace.Ip(_gateway, "addr add 10.79.0.2/24 dev g0");
        using var responder = new ProbeResponder(new IPEndPoint(IPAddress.IPv6Any, 0), _gatewayNs, NullLogger<ProbeResponder>.Instance);
        using var liveness = new GatewayLiveness("remote", new PathHealthOptions(), _nodeNs, NullLoggerFactory.Instance);
        var changes = 0;
        liveness.Changed += () => Interlocked.Increment(ref changes);
        var port = responder.LocalEndPoint.Port;
        liveness.Track(new Dictionary<string, IReadOnlyList<IPEndPoint>>
        {
            ["gw-a"] = [GatewayLiveness.Responder(IPAddress.Parse("10.78.0.2"), port), GatewayLiveness.Responder(IPAddress.Parse("10.79.0.2"), port)],
        });
        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(Task.Run(() => responder.RunAsync(stop.Token)), Task.Run(() => liveness.RunAsync(stop.Token)));
        try
        {
            Assert.False(liveness.IsLive("gw-a"));
            Assert.True(await Poll.UntilAsync(() => liveness.IsLive("gw-a"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)), "gw-a answers, so it must become live");
            Assert.Equal(1, Volatile.Read(ref changes));

            // One leg gone: well past the 150 ms it takes to find a silent responder, the gateway is still live.
            NetworkNamespace.Ip(_gateway, "addr del 10.78.0.2/24 dev g0");
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.True(liveness.IsLive("gw-a"), "one path still answers");
            Assert.Equal(new Dictionary<string, bool> { ["gw-a"] = true }, liveness.Gateways);
            Assert.Equal(1, Volatile.Read(ref changes));

            NetworkNamespace.Ip(_gateway, "addr del 10.79.0.2/24 dev g0");
            Assert.True(await Poll.UntilAsync(() => !liveness.IsLive("gw-a"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)), "both legs gone, so gw-a must be dead");
            Assert.Equal(2, Volatile.Read(ref changes));

            // A leg back: live again, and said once.
            NetworkNamespace.Ip(_gateway, "addr add 10.79.0.2/24 dev g0");
            Assert.True(await Poll.UntilAsync(() => liveness.IsLive("gw-a"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)), "a leg answers again");
            Assert.Equal(3, Volatile.Read(ref changes));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public void CountedFailovers_AreKept()
    {
        using var liveness = new GatewayLiveness("remote", new PathHealthOptions(), _nodeNs, NullLoggerFactory.Instance);
        liveness.CountFailover("east", "gw-a", "gw-b");
        liveness.CountFailover("east", "gw-b", "gw-a");

        Assert.Equal(2, liveness.Failovers);
        Assert.Equal("remote", liveness.Role);
    }

    [Theory]
    [InlineData("gw-1", "gw-1")]
    [InlineData("ip-10-0-0-1.ec2.internal", "ip-10-0-0-1")]
    [InlineData("Node-A", "node-a")]
    public void GatewayName_IsTheNodesFirstLabel(string node, string gateway)
    {
        Assert.Equal(gateway, MeshFeature.GatewayName(node));
    }

    [Theory]
    [InlineData("-bad")]
    [InlineData("under_score")]
    public void GatewayName_ThatIsNoDnsLabel_IsRefusedWithTheNodeNamed(string node)
    {
        var error = Assert.Throws<InvalidDataException>(() => MeshFeature.GatewayName(node));
        Assert.Contains(node, error.Message);
    }
}
