using System.Net;
using System.Text.Json.Nodes;
using Patronus.Agent.Tests.Hosting;
using Patronus.Kubernetes.Tests.Informers;
using Patronus.Testing;
using static Patronus.Testing.NetworkNamespace;

namespace Patronus.Agent.Tests.Routes;

/// <summary>
/// The whole agent watching Nodes on an API server (the fake one, speaking the list/watch wire format) and
/// programming a real node namespace: what kube-controller-manager and kubelet do to Node objects reaches the
/// routes and the conflist through the informer, including a 410 re-list.
/// </summary>
public sealed class NodeEventsTests : IAsyncLifetime
{
    /// <summary>The issue asks for a second; a loaded CI machine gets ten.</summary>
    private static readonly TimeSpan Convergence = TimeSpan.FromSeconds(10);

    private readonly AgentPaths _paths = new();
    private readonly FakeApiServer _server = new();
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _node;
    private RunningAgent? _agent;

    public NodeEventsTests()
    {
        _server.Collection("api/v1/namespaces", "NamespaceList", "v1");
        _server.Collection("api/v1/pods", "PodList", "v1");
        _server.Collection("apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicyList", "networking.k8s.io/v1");
        _server.Collection("api/v1/services", "ServiceList", "v1");
        _server.Collection("apis/discovery.k8s.io/v1/endpointslices", "EndpointSliceList", "discovery.k8s.io/v1");
        Nodes.Add(Node("node-a", "192.168.1.1", "10.244.1.0/24", "fd00:10:244:1::/64"));
        Nodes.Add(Node("node-b", "192.168.1.2", "10.244.2.0/24"));
        Nodes.Add(Node("node-c", "192.168.7.3", "10.244.3.0/24"));

        var id = Guid.NewGuid().ToString("N")[..6];
        _node = _namespaces.Add($"pne-{id}-n1");
        var gateway = _namespaces.Add($"pne-{id}-gw");
        Ip(_node, "link set lo up", $"link add uplink0 type veth peer name gw0 netns {gateway}", "link set uplink0 up",
            "addr add 192.168.1.1/24 dev uplink0", "route add default via 192.168.1.254");
        Ip(gateway, "link set gw0 up", "addr add 192.168.1.254/24 dev gw0");
        File.WriteAllText(Template, """{"cniVersion":"1.0.0","name":"k8s","plugins":[{"type":"patronus-cni","ipam":{"type":"patronus-ipam"}}]}""");
        File.WriteAllText(Kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"} name: fake, cluster: {"{"} server: "{_server.BaseUri.ToString().TrimEnd('/')}" {"}"} {"}"}]
            users: [{"{"} name: agent, user: {"{"} token: test-token {"}"} {"}"}]
            contexts: [{"{"} name: fake, context: {"{"} cluster: fake, user: agent {"}"} {"}"}]
            current-context: fake
            """);
    }

    private FakeCollection Nodes => _server.Collection("api/v1/nodes", "NodeList", "v1");

    private string Kubeconfig => Path.Combine(_paths.Root, "kubeconfig");

    private string Template => Path.Combine(_paths.Root, "template.conflist");

    private string Conflist => Path.Combine(_paths.Root, "net.d", "10-patronus.conflist");

    private string[] Arguments() =>
    [
        "--kubeconfig", Kubeconfig, "--socket", _paths.Socket, "--database", _paths.Database, "--spool", _paths.Spool,
        "--metrics-address", "127.0.0.1:0", "--datapath", "none", "--routing", "auto", "--node-name", "node-a",
        "--netns", NetworkNamespace.PathOf(_node), "--cluster-cidr", "10.244.0.0/16", "--service-cidr", "10.96.0.0/16",
        "--cni-conf-template", Template, "--cni-conf-path", Conflist, "--pod-wait-seconds", "0", "--log-level", "Warning",
    ];

    private static JsonObject Node(string name, string address, params string[] podCidrs)
    {
        var spec = new JsonObject();
        if (podCidrs.Length > 0)
        {
            spec["podCIDR"] = podCidrs[0];
            spec["podCIDRs"] = new JsonArray(podCidrs.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
        }
        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec,
            ["status"] = new JsonObject
            {
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = address },
                    new JsonObject { ["type"] = "Hostname", ["address"] = name }),
            },
        };
    }

    public async Task InitializeAsync() => _agent = await RunningAgent.StartAsync(Arguments());

    public async Task DisposeAsync()
    {
        try
        {
            if (_agent is not null)
                await _agent.DisposeAsync();
        }
        finally
        {
            _namespaces.Dispose();
            _server.Dispose();
            _paths.Dispose();
        }
    }

    [Fact]
    public async Task NodeReaddressedThenDeleted_RoutesAndEntriesFollow_AndNothingStaleRemains()
    {
        Assert.True(await Poll.UntilAsync(() => Routes().Contains("10.244.3.0/24 via 10.244.3.0 dev patronus-vxlan"), Convergence), Routes());
        Assert.Contains("10.244.2.0/24 via 192.168.1.2 dev uplink0", Routes());

        Nodes.Modify(Node("node-b", "192.168.1.22", "10.244.2.0/24"));
        Nodes.Modify(Node("node-c", "192.168.7.33", "10.244.3.0/24"));

        Assert.True(await Poll.UntilAsync(() => Routes().Contains("10.244.2.0/24 via 192.168.1.22 dev uplink0"), Convergence), Routes());
        Assert.True(await Poll.UntilAsync(() => Fdb().Contains("dst 192.168.7.33"), Convergence), Fdb());
        Assert.DoesNotContain("192.168.1.2 ", Routes());
        Assert.DoesNotContain("dst 192.168.7.3 ", Fdb());

        Nodes.Delete(Node("node-c", "192.168.7.33", "10.244.3.0/24"));

        Assert.True(await Poll.UntilAsync(() => !Routes().Contains("10.244.3.0"), Convergence), Routes());
        Assert.DoesNotContain("192.168.7.33", Fdb());
        Assert.DoesNotContain("10.244.3.0", Command.Run("ip", ["-n", _node, "neigh", "show", "proxy"]).Stdout + Command.Run("ip", ["-n", _node, "neigh", "show"]).Stdout);
        Assert.Contains("10.244.2.0/24 via 192.168.1.22 dev uplink0", Routes());
    }

    [Fact]
    public async Task WatchGone410_ReListDropsANodeTheWatchNeverReported()
    {
        Assert.True(await Poll.UntilAsync(() => Routes().Contains("10.244.2.0/24 via 192.168.1.2 dev uplink0"), Convergence), Routes());
        await Poll.UntilAsync(() => Nodes.OpenWatches == 1, Convergence);

        // node-b goes while the agent's watch hears nothing; only the re-list after 410 Gone can find out.
        Nodes.DeleteUnseen(Node("node-b", "192.168.1.2", "10.244.2.0/24"));
        Nodes.Compact();
        Nodes.SendGone();

        Assert.True(await Poll.UntilAsync(() => !Routes().Contains("10.244.2.0"), Convergence), Routes());
        Assert.Contains("10.244.3.0/24 via 10.244.3.0 dev patronus-vxlan", Routes());
    }

    [Fact]
    public async Task PodRangesArriveLate_NotReadyWithoutConflist_ThenReadyWithIt()
    {
        using var http = new HttpClient();
        Assert.True(await Poll.UntilAsync(() => File.Exists(Conflist), Convergence), await http.GetStringAsync(new Uri(_agent!.MetricsUri, "/readyz")));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(_agent!.MetricsUri, "/readyz"))).StatusCode);

        // As on a node kube-controller-manager has not given a range yet (or took it away).
        Nodes.Modify(Node("node-a", "192.168.1.1"));

        Assert.True(await Poll.UntilAsync(() => !File.Exists(Conflist), Convergence), "no conflist while the node has no pod range");
        var notReady = await http.GetAsync(new Uri(_agent.MetricsUri, "/readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("Node node-a has no spec.podCIDRs", await notReady.Content.ReadAsStringAsync());

        Nodes.Modify(Node("node-a", "192.168.1.1", "10.244.5.0/24", "fd00:10:244:5::/64"));

        Assert.True(await Poll.UntilAsync(() => File.Exists(Conflist) && File.ReadAllText(Conflist).Contains("10.244.5.0/24"), Convergence));
        Assert.Contains("fd00:10:244:5::/64", File.ReadAllText(Conflist));
        Assert.DoesNotContain("10.244.1.0/24", File.ReadAllText(Conflist));
        Assert.True(await Poll.UntilAsync(() => http.GetAsync(new Uri(_agent.MetricsUri, "/readyz")).Result.StatusCode == HttpStatusCode.OK, Convergence));
    }

    private string Routes() => Ip(_node, "route show proto 77");

    private string Fdb() => Command.Run("ip", ["netns", "exec", _node, "bridge", "fdb", "show", "dev", "patronus-vxlan"]).Stdout;

}
