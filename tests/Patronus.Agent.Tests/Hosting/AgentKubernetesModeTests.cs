using System.Text.Json.Nodes;
using Patronus.Kubernetes.Tests.Informers;
using Patronus.Policy.Compiled;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>The agent against an API server (the fake one speaking the list/watch wire format) instead of a folder.</summary>
public sealed class AgentKubernetesModeTests : IDisposable
{
    private readonly AgentPaths _paths = new();
    private readonly FakeApiServer _server = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public AgentKubernetesModeTests()
    {
        _server.Collection("api/v1/namespaces", "NamespaceList", "v1").Add(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "shop", ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = "shop" } } });
        _server.Pods.Add(FakeObjects.Pod("web", "shop", "10.244.1.5", ("app", "web")));
        _server.Collection("api/v1/nodes", "NodeList", "v1");
        _server.Collection("api/v1/services", "ServiceList", "v1");
        _server.Collection("apis/discovery.k8s.io/v1/endpointslices", "EndpointSliceList", "discovery.k8s.io/v1");
        Policies.Add(Policy("deny-all"));
        File.WriteAllText(Kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"} name: fake, cluster: {"{"} server: "{_server.BaseUri.ToString().TrimEnd('/')}" {"}"} {"}"}]
            users: [{"{"} name: agent, user: {"{"} token: test-token {"}"} {"}"}]
            contexts: [{"{"} name: fake, context: {"{"} cluster: fake, user: agent {"}"} {"}"}]
            current-context: fake
            """);
    }

    private string Kubeconfig => Path.Combine(_paths.Root, "kubeconfig");

    private FakeCollection Policies => _server.Collection("apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicyList", "networking.k8s.io/v1");

    private static JsonObject Policy(string name) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["podSelector"] = new JsonObject(), ["policyTypes"] = new JsonArray("Ingress", "Egress") },
    };

    private string[] Arguments() => _paths.Arguments().Where((_, i) => i > 1).Prepend(Kubeconfig).Prepend("--kubeconfig").ToArray();

    public void Dispose()
    {
        _server.Dispose();
        _paths.Dispose();
    }

    [Fact]
    public async Task KubernetesMode_RegisteredPodGetsThePolicyWatchedFromTheApiServer()
    {
        await using var agent = await RunningAgent.StartAsync(Arguments());
        var web = new EndpointId("shop", "web");

        _paths.Client().Register(new("c-web", "eth0", "/n", "shop", "web", "uid", ["10.244.1.5/24"], "m", "veth"), Timeout);

        Assert.True(agent.Datapath.Held[web].Egress.Isolated);
        // The watch follows the initial list, which is all the registration waits for: it may open a moment later.
        Assert.True(await Poll.UntilAsync(() => _server.WatchRequests().Any(r => r.StartsWith("apis/networking.k8s.io/v1/networkpolicies?watch=true")), TimeSpan.FromSeconds(20)), "condition not reached in time");

        Assert.True(await Poll.UntilAsync(() => Policies.OpenWatches == 1, TimeSpan.FromSeconds(20)), "condition not reached in time");
        Policies.Delete(Policy("deny-all"));

        Assert.True(await Poll.UntilAsync(() => !agent.Datapath.Held[web].Egress.Isolated, TimeSpan.FromSeconds(20)), "condition not reached in time");
    }

    [Fact]
    public async Task KubernetesMode_PolicyWithAnInvalidName_IsIgnored_AndDoesNotBlockRegistrations()
    {
        Policies.Delete(Policy("deny-all"));
        Policies.Add(Policy("bad name"));
        await using var agent = await RunningAgent.StartAsync(Arguments());
        var web = new EndpointId("shop", "web");

        _paths.Client().Register(new("c-web", "eth0", "/n", "shop", "web", "uid", ["10.244.1.5/24"], "m", "veth"), Timeout);

        Assert.False(agent.Datapath.Held[web].Egress.Isolated, "a policy the API server would refuse is enforced as if it did not exist");
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(agent.MetricsUri, "/metrics"));
        Assert.Matches("patronus_agent_errors_total\\{component=\"mapping\"\\} [1-9]", metrics);
    }
}
