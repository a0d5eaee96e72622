using System.Net;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.Datapath;
using Patronus.Policy.Compiled;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Hosting;

public sealed class AgentEndToEndTests : IDisposable
{
    private readonly AgentPaths _paths = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly EndpointId Web = new("shop", "web");

    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: { name: web, namespace: shop, labels: { app: web } }
        spec: { containers: [{ name: c, image: busybox, ports: [{ name: http, containerPort: 8080 }] }] }
        ---
        apiVersion: v1
        kind: Pod
        metadata: { name: frontend, namespace: shop, labels: { app: frontend } }
        spec: { containers: [{ name: c, image: busybox }] }
        status: { podIP: 10.244.2.7, podIPs: [{ ip: 10.244.2.7 }] }
        """;

    private const string DenyAll = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: { name: deny-all, namespace: shop }
        spec: { podSelector: {}, policyTypes: [Ingress] }
        """;

    private const string AllowFrontend = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: { name: allow-frontend, namespace: shop }
        spec:
          podSelector: { matchLabels: { app: web } }
          ingress:
          - from: [{ podSelector: { matchLabels: { app: frontend } } }]
            ports: [{ port: http }]
        """;

    public AgentEndToEndTests()
    {
        _paths.WriteManifest("pods.yaml", Pods);
        _paths.WriteManifest("deny.yaml", DenyAll);
    }

    public void Dispose() => _paths.Dispose();

    private static EndpointRegistration WebEndpoint(string containerId = "c-web") =>
        new(containerId, "eth0", "/var/run/netns/web", "shop", "web", "uid-web", ["10.244.1.5/24"], "0a:58:0a:f4:01:05", "vethweb");

    [Fact]
    public async Task Register_RepliesOnlyOnceThePodsPolicyIsProgrammed()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());

        _paths.Client().Register(WebEndpoint(), Timeout);

        var policy = agent.Datapath.Held[Web];
        Assert.Equal([IPAddress.Parse("10.244.1.5")], policy.Addresses);
        Assert.True(policy.Ingress.Isolated);
        Assert.Equal(["shop/deny-all"], policy.Ingress.IsolatedBy);
        Assert.False(policy.Egress.Isolated);
        Assert.Equal(["reconcile ", "update +shop/web -"], agent.Datapath.CallLog);
    }

    [Fact]
    public async Task Register_StatusShowsTheEndpointAndThePolicies()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        var client = _paths.Client();

        client.Register(WebEndpoint(), Timeout);
        var status = client.GetStatus(Timeout);

        Assert.Equal(1, status.PodsManaged);
        Assert.Equal(1, status.NetworkPolicies);
        Assert.True(status.Ready);
        Assert.Equal("node-a", status.NodeName);
        Assert.Equal("manifests", status.Source);
        Assert.Equal(_paths.Database, status.Database.Path);
        Assert.True(status.Database.Present);
        Assert.Empty(status.Tunnels);
    }

    [Fact]
    public async Task Unregister_RemovesTheEndpointsRules()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        var client = _paths.Client();
        client.Register(WebEndpoint(), Timeout);

        Assert.True(client.UnregisterOrQueue("c-web", "eth0", Timeout));

        Assert.Empty(agent.Datapath.Held);
        Assert.Equal(0, client.GetStatus(Timeout).PodsManaged);
        Assert.True(client.UnregisterOrQueue("c-web", "eth0", Timeout), "a repeated DEL succeeds");
    }

    [Fact]
    public async Task PolicyFileAdded_ReprogramsTheAffectedEndpoint()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        _paths.Client().Register(WebEndpoint(), Timeout);

        _paths.WriteManifest("allow.yaml", AllowFrontend);

        Assert.True(await Poll.UntilAsync(() => agent.Datapath.Held[Web].Ingress.Rules.Count == 1, TimeSpan.FromSeconds(20)), "condition not reached in time");
        var rule = agent.Datapath.Held[Web].Ingress.Rules[0];
        Assert.Equal("allow-frontend", rule.Origin.PolicyName);
        Assert.True(rule.Matches(IPAddress.Parse("10.244.2.7"), Protocol.Tcp, 8080));
        Assert.False(rule.Matches(IPAddress.Parse("10.244.2.7"), Protocol.Tcp, 22));
    }

    [Fact]
    public async Task Restart_KeepsEndpointsFromTheDatabase()
    {
        await using (var first = await RunningAgent.StartAsync(_paths.Arguments()))
            _paths.Client().Register(WebEndpoint(), Timeout);

        await using var second = await RunningAgent.StartAsync(_paths.Arguments());

        Assert.Equal(["reconcile shop/web"], second.Datapath.CallLog);
        var restored = second.Datapath.Held[Web];
        Assert.Equal([IPAddress.Parse("10.244.1.5")], restored.Addresses);
        Assert.Equal(["shop/deny-all"], restored.Ingress.IsolatedBy);
        Assert.Equal(1, _paths.Client().GetStatus(Timeout).PodsManaged);
    }

    [Fact]
    public async Task RemovalQueuedWhileAgentWasDown_IsAppliedAtStart()
    {
        await using (var first = await RunningAgent.StartAsync(_paths.Arguments()))
        {
            _paths.Client().Register(WebEndpoint(), Timeout);
            _paths.Client().Register(WebEndpoint("c-other") with { PodName = "frontend", Addresses = ["10.244.2.7/24"] }, Timeout);
        }
        Assert.False(_paths.Client().UnregisterOrQueue("c-web", "eth0"));

        await using var second = await RunningAgent.StartAsync(_paths.Arguments());

        Assert.Equal(["reconcile shop/frontend"], second.Datapath.CallLog);
        Assert.Empty(new PendingRemovalSpool(_paths.Spool).ReadAll());
        Assert.Equal(1, _paths.Client().GetStatus(Timeout).PodsManaged);
    }

    [Fact]
    public async Task RemovalQueuedWhileAgentRuns_IsAppliedSoon()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        _paths.Client().Register(WebEndpoint(), Timeout);

        new PendingRemovalSpool(_paths.Spool).Enqueue(new EndpointRemoval("c-web", "eth0"));

        Assert.True(await Poll.UntilAsync(() => !agent.Datapath.Held.ContainsKey(Web), TimeSpan.FromSeconds(20)), "condition not reached in time");
        Assert.True(await Poll.UntilAsync(() => new PendingRemovalSpool(_paths.Spool).ReadAll().Count == 0, TimeSpan.FromSeconds(20)), "condition not reached in time");
        Assert.Equal(0, _paths.Client().GetStatus(Timeout).PodsManaged);
    }

    [Fact]
    public async Task Register_DatapathFails_RefusesWithTheDatapathsError()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        agent.Datapath.Fail = true;

        var error = Assert.Throws<AgentRejectedException>(() => _paths.Client().Register(WebEndpoint(), Timeout));

        Assert.Contains("nft: table inet patronus is busy", error.Message);
    }

    [Fact]
    public async Task DatapathRecovers_AFullReconcileRestoresEveryEndpoint()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        agent.Datapath.Fail = true;
        Assert.Throws<AgentRejectedException>(() => _paths.Client().Register(WebEndpoint(), Timeout));

        agent.Datapath.Fail = false;

        Assert.True(await Poll.UntilAsync(() => agent.Datapath.CallLog.LastOrDefault() == "reconcile shop/web", TimeSpan.FromSeconds(20)), "condition not reached in time");
    }

    [Fact]
    public async Task Register_PodUnknownToTheCluster_IsProgrammedWithoutLabels()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());

        _paths.Client().Register(WebEndpoint("c-ghost") with { PodName = "ghost", Addresses = ["10.244.1.9/24"] }, Timeout);

        var policy = agent.Datapath.Held[new EndpointId("shop", "ghost")];
        Assert.True(policy.Ingress.Isolated, "deny-all selects every pod, labelled or not");
    }

    [Fact]
    public async Task Metrics_ExposeTheAgentsMetricsInPrometheusText()
    {
        var datapath = new RecordingDatapath();
        datapath.Counters.Add(new PolicyDropCounter("shop", "deny-all", "ingress", 7, 420));
        datapath.Counters.Add(new PolicyDropCounter("shop", "deny-all", "egress", 3, 180));
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments(), datapath);
        _paths.Client().Register(WebEndpoint(), Timeout);
        using var http = new HttpClient();

        var response = await http.GetAsync(new Uri(agent.MetricsUri, "/metrics"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("patronus_policy_blocks_total{namespace=\"shop\",policy=\"deny-all\"} 10", text);
        Assert.Contains("patronus_agent_sync_lag_seconds 0", text);
        Assert.Contains("patronus_agent_rule_updates_total 2", text);
        Assert.Contains("patronus_agent_errors_total{component=\"datapath\"} 0", text);
        Assert.Contains("patronus_endpoints 1", text);
    }

    [Fact]
    public async Task Health_IsAlive_AndReadyOnlyOnceTheDatapathIsProgrammed()
    {
        var datapath = new RecordingDatapath { Fail = true };
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments(), datapath, waitReady: false);
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(agent.MetricsUri, "/healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri(agent.MetricsUri, "/readyz"))).StatusCode);

        datapath.Fail = false;
        await agent.Policy.Ready.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(agent.MetricsUri, "/readyz"))).StatusCode);
    }

}
