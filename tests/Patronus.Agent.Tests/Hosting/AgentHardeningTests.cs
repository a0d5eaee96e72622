using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.State;
using Patronus.Policy.Compiled;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>
/// One object's problem never blocks the others: bad registrations, bad policies, bad rows from older
/// versions, a source that stops, a database that is busy, and clients that misbehave on the socket.
/// </summary>
public sealed class AgentHardeningTests : IDisposable
{
    private readonly AgentPaths _paths = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly EndpointId Web = new("shop", "web");
    private static readonly EndpointId Frontend = new("shop", "frontend");

    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: { name: web, namespace: shop, labels: { app: web } }
        spec: { containers: [{ name: c, image: busybox }] }
        ---
        apiVersion: v1
        kind: Pod
        metadata: { name: frontend, namespace: shop, labels: { app: frontend } }
        spec: { containers: [{ name: c, image: busybox }] }
        """;

    public AgentHardeningTests() => _paths.WriteManifest("pods.yaml", Pods);

    public void Dispose() => _paths.Dispose();

    private static EndpointRegistration Endpoint(string pod, string containerId, string address) =>
        new(containerId, "eth0", "/var/run/netns/" + containerId, "shop", pod, "uid-" + pod, [address], "0a:58:0a:f4:01:05", "veth" + pod);

    private static async Task<string> Metrics(RunningAgent agent)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri(agent.MetricsUri, "/metrics"));
    }

    private static double Metric(string text, string series)
    {
        var match = Regex.Match(text, "^" + Regex.Escape(series) + " ([0-9.e+]+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    [Fact]
    public async Task Register_InvalidPodName_IsRefusedWithoutBeingStored_AndTheOthersKeepWorking()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        var client = _paths.Client();

        var error = Assert.Throws<AgentRejectedException>(() => client.Register(Endpoint("a b", "c-evil", "10.244.1.66/24"), Timeout));

        Assert.Contains("endpoint.podName", error.Message);
        client.Register(Endpoint("web", "c-web", "10.244.1.5/24"), Timeout);
        client.Register(Endpoint("frontend", "c-front", "10.244.1.6/24"), Timeout);
        Assert.True(client.UnregisterOrQueue("c-front", "eth0", Timeout));
        Assert.Equal([Web], agent.Datapath.Held.Keys);
        Assert.Equal(["c-web"], ReadRows(_paths.Database));
    }

    [Fact]
    public async Task PolicyWithAnInvalidName_IsolatingALocalPod_DoesNotBlockTheOthers()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        var client = _paths.Client();
        client.Register(Endpoint("web", "c-web", "10.244.1.5/24"), Timeout);

        _paths.WriteManifest("bad.yaml", """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: { name: bad name, namespace: shop }
            spec: { podSelector: { matchLabels: { app: web } }, policyTypes: [Ingress] }
            """);
        Assert.True(await Poll.UntilAsync(() => Metric(Metrics(agent).Result, "patronus_agent_errors_total{component=\"manifests\"}") >= 1, TimeSpan.FromSeconds(20)), "condition not reached in time");
        client.Register(Endpoint("frontend", "c-front", "10.244.1.6/24"), Timeout);
        Assert.True(client.UnregisterOrQueue("c-web", "eth0", Timeout));

        Assert.Equal([Frontend], agent.Datapath.Held.Keys);
        Assert.True(agent.Policy.IsReady);
    }

    [Fact]
    public async Task DatabaseHoldingABadRowFromAnOlderAgent_StartsReady_AndProgramsTheOthers()
    {
        using (var database = new AgentDatabase(_paths.Database))
        {
            database.SaveEndpoint(Endpoint("a b", "c-evil", "10.244.1.66/24"));
            database.SaveEndpoint(Endpoint("web", "c-web", "10.244.1.5/24"));
        }

        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(agent.MetricsUri, "/readyz"))).StatusCode);
        Assert.Equal([Web], agent.Datapath.Held.Keys);
        Assert.Equal(1, Metric(await Metrics(agent), "patronus_agent_errors_total{component=\"endpoints\"}"));
        var client = _paths.Client();
        Assert.True(client.UnregisterOrQueue("c-evil", "eth0", Timeout), "the bad row can still be removed");
        client.Register(Endpoint("frontend", "c-front", "10.244.1.6/24"), Timeout);
        Assert.Equal(["c-web", "c-front"], ReadRows(_paths.Database));
    }

    [Fact]
    public async Task SourceStops_ReadinessFalls_AndComesBackOnceItIsRestartedAndSynced()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());
        using var http = new HttpClient();
        var readyz = new Uri(agent.MetricsUri, "/readyz");

        Directory.Delete(_paths.Manifests, recursive: true);

        Assert.True(await Poll.UntilAsync(() => http.GetAsync(readyz).Result.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20)), "condition not reached in time");
        var body = await (await http.GetAsync(readyz)).Content.ReadAsStringAsync();
        Assert.Contains("manifests folder", body);
        Assert.True(Metric(await Metrics(agent), "patronus_agent_errors_total{component=\"source\"}") >= 1);
        Assert.Equal(0, Metric(await Metrics(agent), "patronus_agent_ready"));

        Directory.CreateDirectory(_paths.Manifests);
        _paths.WriteManifest("pods.yaml", Pods);

        Assert.True(await Poll.UntilAsync(() => http.GetAsync(readyz).Result.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20)), "condition not reached in time");
        _paths.Client().Register(Endpoint("web", "c-web", "10.244.1.5/24"), Timeout);
        Assert.Equal(1, Metric(await Metrics(agent), "patronus_agent_ready"));
    }

    [Fact]
    public async Task SpoolDrainer_DatabaseBusy_KeepsTheRemovalQueued_AndAppliesItLater()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments("--spool-interval-seconds", "0.2"));
        _paths.Client().Register(Endpoint("web", "c-web", "10.244.1.5/24"), Timeout);
        using (var blocker = new SqliteConnection($"Data Source={_paths.Database};Pooling=false"))
        {
            blocker.Open();
            using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                begin.ExecuteNonQuery();
            }

            new PendingRemovalSpool(_paths.Spool).Enqueue(new EndpointRemoval("c-web", "eth0"));

            Assert.True(await Poll.UntilAsync(() => Metric(Metrics(agent).Result, "patronus_agent_errors_total{component=\"spool\"}") >= 1, TimeSpan.FromSeconds(20)), "condition not reached in time");
            Assert.True(agent.Datapath.Held.ContainsKey(Web));
        }

        Assert.True(await Poll.UntilAsync(() => !agent.Datapath.Held.ContainsKey(Web), TimeSpan.FromSeconds(20)), "condition not reached in time");
        Assert.Empty(new PendingRemovalSpool(_paths.Spool).ReadAll());
    }

    [Fact]
    public async Task RegistrationQueuedWhileAgentWasDown_IsAppliedAtStart()
    {
        Assert.False(_paths.Client().RegisterOrQueue(Endpoint("web", "c-web", "10.244.1.5/24"), Timeout));
        Assert.False(_paths.Client().RegisterOrQueue(Endpoint("frontend", "c-front", "10.244.1.6/24"), Timeout));
        Assert.False(_paths.Client().UnregisterOrQueue("c-front", "eth0"));

        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());

        Assert.Equal(["reconcile shop/web"], agent.Datapath.CallLog);
        Assert.Empty(new PendingRemovalSpool(_paths.Spool).ReadRegistrations());
        Assert.Empty(new PendingRemovalSpool(_paths.Spool).ReadAll());
        Assert.Equal(["c-web"], ReadRows(_paths.Database));
    }

    [Fact]
    public async Task RegistrationQueuedWhileAgentRuns_IsAppliedSoon()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments("--spool-interval-seconds", "0.2"));

        new PendingRemovalSpool(_paths.Spool).Enqueue(Endpoint("web", "c-web", "10.244.1.5/24"));

        Assert.True(await Poll.UntilAsync(() => agent.Datapath.Held.ContainsKey(Web), TimeSpan.FromSeconds(20)), "condition not reached in time");
        Assert.True(await Poll.UntilAsync(() => new PendingRemovalSpool(_paths.Spool).ReadRegistrations().Count == 0, TimeSpan.FromSeconds(20)), "condition not reached in time");
    }

    private static string[] ReadRows(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=false;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT container_id FROM agent_endpoints ORDER BY registered_at";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add(reader.GetString(0));
        return rows.ToArray();
    }
}
