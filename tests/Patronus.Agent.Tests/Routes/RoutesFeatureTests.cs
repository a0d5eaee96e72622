using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Routes;
using Patronus.Agent.Sync;
using Patronus.Kubernetes.Informers;
using Patronus.Testing;
using static Patronus.Testing.NetworkNamespace;

namespace Patronus.Agent.Tests.Routes;

/// <summary>The routes feature driven by Node events, programming a real node namespace.</summary>
public sealed class RoutesFeatureTests : IAsyncLifetime
{
    /// <summary>Generous: the feature reacts within a second; a loaded CI machine gets five.</summary>
    private static readonly TimeSpan Reaction = TimeSpan.FromSeconds(5);

    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _node;
    private readonly string _dir = Directory.CreateTempSubdirectory("patronus-routes-").FullName;
    private readonly ClusterSync _cluster = new([], NullLogger<ClusterSync>.Instance);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _agentReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RoutesFeature _feature;
    private readonly Task _running;

    public RoutesFeatureTests()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        _node = _namespaces.Add($"prf-{id}-n1");
        var peer = _namespaces.Add($"prf-{id}-gw");
        Ip(_node, "link set lo up", $"link add uplink0 type veth peer name gw0 netns {peer}", "link set uplink0 up", "addr add 192.168.1.1/24 dev uplink0",
            "route add default via 192.168.1.254");
        Ip(peer, "link set gw0 up", "addr add 192.168.1.254/24 dev gw0");
        File.WriteAllText(Template, """{"cniVersion":"1.0.0","name":"k8s","plugins":[{"type":"patronus-cni","ipam":{"type":"patronus-ipam"}}]}""");
        var options = new RoutesOptions { CniConfTemplate = Template, CniConfPath = Conflist, ClusterCidrs = [System.Net.IPNetwork.Parse("10.244.0.0/16")] };
        _feature = new RoutesFeature(options, "node-1", NetworkNamespace.PathOf(_node), _cluster, NullLogger<RoutesFeature>.Instance);
        _running = _feature.RunAsync(Task.CompletedTask, _agentReady.Task, _stop.Token);
    }

    private string Template => Path.Combine(_dir, "template.conflist");

    private string Conflist => Path.Combine(_dir, "net.d", "10-patronus.conflist");

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xUnit 2 does not call DisposeAsync of IAsyncDisposable test classes.
    public async Task DisposeAsync()
    {
        try
        {
            _stop.Cancel();
            await _running;
        }
        finally
        {
            // Whatever the feature did, the namespaces go: a test must never leave any behind.
            _namespaces.Dispose();
            _feature.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    private void Apply(ResourceEventType type, string name, string address, params string[] cidrs) =>
        _cluster.Apply(new ResourceEvent(type, new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1NodeSpec { PodCIDRs = cidrs },
            Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = address }] },
        }));

    [Fact]
    public async Task NodesArriveChangeAndLeave_RoutesFollowAndTheConflistWaitsForReadiness()
    {
        Apply(ResourceEventType.Added, "node-1", "192.168.1.1", "10.244.1.0/24", "fd00:10:244:1::/64");
        Apply(ResourceEventType.Added, "node-2", "192.168.1.2", "10.244.2.0/24");
        Apply(ResourceEventType.Added, "node-3", "192.168.7.3", "10.244.3.0/24");

        Assert.True(await Poll.UntilAsync(() => Ip(_node, "route show proto 77").Contains("10.244.3.0/24 via 10.244.3.0 dev patronus-vxlan"), Reaction, TimeSpan.FromMilliseconds(50)));
        Assert.Contains("10.244.2.0/24 via 192.168.1.2 dev uplink0", Ip(_node, "route show proto 77"));
        Assert.Contains("local_pods_v4", Command.Run("ip", ["netns", "exec", _node, "nft", "list", "table", "inet", "patronus_nat"]).Stdout);
        Assert.Null(_feature.NotReadyReason);
        Assert.False(File.Exists(Conflist), "no conflist before the agent is ready");

        _agentReady.SetResult();
        Assert.True(await Poll.UntilAsync(() => File.Exists(Conflist), Reaction, TimeSpan.FromMilliseconds(50)));
        var conflist = File.ReadAllText(Conflist);
        Assert.Contains("10.244.1.0/24", conflist);
        Assert.Contains("fd00:10:244:1::/64", conflist);
        Assert.Contains("\"mtu\": 1450", conflist);

        // Readdressed, then deleted.
        Apply(ResourceEventType.Modified, "node-3", "192.168.7.33", "10.244.3.0/24");
        Assert.True(await Poll.UntilAsync(() => Command.Run("ip", ["netns", "exec", _node, "bridge", "fdb", "show", "dev", "patronus-vxlan"]).Stdout.Contains("dst 192.168.7.33"), Reaction, TimeSpan.FromMilliseconds(50)),
            _feature.NotReadyReason + Command.Run("ip", ["netns", "exec", _node, "bridge", "fdb", "show", "dev", "patronus-vxlan"]).Stdout);
        Apply(ResourceEventType.Deleted, "node-3", "192.168.7.33", "10.244.3.0/24");
        Assert.True(await Poll.UntilAsync(() => !Ip(_node, "route show proto 77").Contains("10.244.3.0"), Reaction, TimeSpan.FromMilliseconds(50)));
        Assert.DoesNotContain("192.168.7.33", Command.Run("ip", ["netns", "exec", _node, "bridge", "fdb", "show", "dev", "patronus-vxlan"]).Stdout);

        // Pod ranges taken away: not ready, and no conflist for kubelet to start pods with.
        Apply(ResourceEventType.Modified, "node-1", "192.168.1.1");
        Assert.True(await Poll.UntilAsync(() => _feature.NotReadyReason?.Contains("no spec.podCIDRs") == true, Reaction, TimeSpan.FromMilliseconds(50)));
        Assert.True(await Poll.UntilAsync(() => !File.Exists(Conflist), Reaction, TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public async Task AnotherNodeWithOurPodRange_NotReadyAndNoConflist_UntilItIsGone()
    {
        _agentReady.SetResult();
        Apply(ResourceEventType.Added, "node-1", "192.168.1.1", "10.244.1.0/24");
        Assert.True(await Poll.UntilAsync(() => File.Exists(Conflist), Reaction, TimeSpan.FromMilliseconds(50)));

        Apply(ResourceEventType.Added, "node-2", "192.168.1.2", "10.244.1.0/24");

        Assert.True(await Poll.UntilAsync(() => _feature.NotReadyReason?.Contains("overlaps 10.244.1.0/24 of Node node-2") == true, Reaction, TimeSpan.FromMilliseconds(50)), _feature.NotReadyReason);
        Assert.True(await Poll.UntilAsync(() => !File.Exists(Conflist), Reaction, TimeSpan.FromMilliseconds(50)));

        Apply(ResourceEventType.Deleted, "node-2", "192.168.1.2", "10.244.1.0/24");

        Assert.True(await Poll.UntilAsync(() => File.Exists(Conflist) && _feature.NotReadyReason is null, Reaction, TimeSpan.FromMilliseconds(50)), _feature.NotReadyReason);
    }

    [Fact]
    public async Task LocalNodeWithoutPodRanges_IsNotReadyAndWritesNoConflist()
    {
        _agentReady.SetResult();
        Apply(ResourceEventType.Added, "node-1", "192.168.1.1");

        Assert.True(await Poll.UntilAsync(() => _feature.NotReadyReason?.Contains("Node node-1 has no spec.podCIDRs") == true, Reaction, TimeSpan.FromMilliseconds(50)));
        Assert.False(File.Exists(Conflist));
    }
}
