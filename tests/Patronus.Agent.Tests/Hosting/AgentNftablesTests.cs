using System.Net;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Tests.Datapath.Nftables;
using Patronus.Testing;
using static Patronus.Agent.Tests.Datapath.Nftables.PodSockets;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>
/// A node network namespace with a bridge and two pods, each its own namespace (all named pagt-*), and the
/// agent programming the node's nftables through the real datapath: the whole path from a manifest and a
/// registration to a dropped or delivered packet.
/// </summary>
public sealed class NodeLab : IDisposable
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _namespaces = [];

    public NodeLab()
    {
        try
        {
            Node = Add("node");
            PodNetworkLab.Ip(Node, "link add br0 type bridge");
            PodNetworkLab.Ip(Node, "addr add 10.78.0.1/24 dev br0");
            PodNetworkLab.Ip(Node, "link set br0 up");
            Web = AddPod("web", 11);
            Client = AddPod("client", 12);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Node { get; }
    public string NodePath => $"/var/run/netns/{Node}";
    public PodNetworkLab.Pod Web { get; }
    public PodNetworkLab.Pod Client { get; }

    private string Add(string suffix)
    {
        var ns = $"pagt-{_id}-{suffix}";
        PodNetworkLab.Run("ip", $"netns add {ns}");
        _namespaces.Add(ns);
        return ns;
    }

    private PodNetworkLab.Pod AddPod(string name, int index)
    {
        var ns = Add(name);
        PodNetworkLab.Ip(Node, $"link add veth{index} type veth peer name eth0 netns {ns}");
        PodNetworkLab.Ip(Node, $"link set veth{index} master br0 up");
        PodNetworkLab.Ip(ns, "link set lo up");
        PodNetworkLab.Ip(ns, $"addr add 10.78.0.{index}/24 dev eth0");
        PodNetworkLab.Ip(ns, "link set eth0 up");
        return new PodNetworkLab.Pod(name, ns, IPAddress.Parse($"10.78.0.{index}"), IPAddress.IPv6None);
    }

    public EndpointRegistration Registration(PodNetworkLab.Pod pod) =>
        new("c-" + pod.Name, "eth0", $"/var/run/netns/{pod.Namespace}", "shop", pod.Name, "uid-" + pod.Name, [$"{pod.V4}/24"], "", "veth");

    public void Dispose()
    {
        foreach (var ns in Enumerable.Reverse(_namespaces))
        {
            try
            {
                PodNetworkLab.Run("ip", $"netns del {ns}");
            }
            catch (InvalidOperationException)
            {
            }
        }
    }
}

public sealed class AgentNftablesTests : IDisposable
{
    private readonly NodeLab _lab = new();
    private readonly AgentPaths _paths = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: { name: web, namespace: shop, labels: { app: web } }
        spec: { containers: [{ name: c, image: busybox }] }
        ---
        apiVersion: v1
        kind: Pod
        metadata: { name: client, namespace: shop, labels: { app: client } }
        spec: { containers: [{ name: c, image: busybox }] }
        """;

    private const string DenyIngressToWeb = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: { name: deny-web, namespace: shop }
        spec: { podSelector: { matchLabels: { app: web } }, policyTypes: [Ingress] }
        """;

    private const string AllowClientToWeb = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: { name: allow-client, namespace: shop }
        spec:
          podSelector: { matchLabels: { app: web } }
          ingress: [{ from: [{ podSelector: { matchLabels: { app: client } } }], ports: [{ port: 8080 }] }]
        """;

    public AgentNftablesTests()
    {
        _paths.WriteManifest("pods.yaml", Pods);
        _paths.WriteManifest("deny.yaml", DenyIngressToWeb);
    }

    public void Dispose()
    {
        _paths.Dispose();
        _lab.Dispose();
    }

    private string[] Arguments() => _paths.Arguments().Select(a => a == "none" ? "nftables" : a).Concat(["--netns", _lab.NodePath, "--routing", "none"]).ToArray();

    [Fact]
    public async Task Register_ReturnsWithThePolicyInTheKernel_AndPolicyChangesReachIt()
    {
        using var web = ListenTcp(_lab.Web, 8080);
        Assert.True(TcpConnects(_lab.Client, _lab.Web.V4, 8080), "the lab must connect before any policy");
        await using var agent = await AgentHostProcess.StartInProcessAsync(Arguments());
        var client = _paths.Client();

        client.Register(_lab.Registration(_lab.Client), Timeout);
        client.Register(_lab.Registration(_lab.Web), Timeout);

        Assert.False(TcpConnects(_lab.Client, _lab.Web.V4, 8080), "deny-web must drop the connection as soon as ADD returned");

        _paths.WriteManifest("allow.yaml", AllowClientToWeb);
        Assert.True(await Poll.UntilAsync(() => TcpConnects(_lab.Client, _lab.Web.V4, 8080, waitMs: 300), TimeSpan.FromSeconds(20)), "condition not reached in time");

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(agent.MetricsUri, "/metrics"));
        Assert.Matches("patronus_policy_blocks_total\\{namespace=\"shop\",policy=\"deny-web\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task AgentStops_RulesStayInForce()
    {
        using var web = ListenTcp(_lab.Web, 8080);
        Assert.True(TcpConnects(_lab.Client, _lab.Web.V4, 8080), "the lab must connect before any policy");
        await using (var agent = await AgentHostProcess.StartInProcessAsync(Arguments()))
            _paths.Client().Register(_lab.Registration(_lab.Web), Timeout);

        Assert.False(TcpConnects(_lab.Client, _lab.Web.V4, 8080));
    }
}

/// <summary>The real agent host (with its real datapath), started in this process.</summary>
public sealed class AgentHostProcess : IAsyncDisposable
{
    private readonly Microsoft.AspNetCore.Builder.WebApplication _app;

    private AgentHostProcess(Microsoft.AspNetCore.Builder.WebApplication app) => _app = app;

    public Uri MetricsUri => Patronus.Agent.Hosting.AgentHost.MetricsUri(_app);

    public static async Task<AgentHostProcess> StartInProcessAsync(string[] args)
    {
        var app = Patronus.Agent.Hosting.AgentHost.Build(args);
        await app.StartAsync();
        await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Patronus.Agent.Policy.PolicyFeature>(app.Services).Ready.WaitAsync(TimeSpan.FromSeconds(30));
        return new AgentHostProcess(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
