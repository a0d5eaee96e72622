using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Hosting;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>
/// The published agent, run as its own process on a manifests folder, treated as a careless or hostile
/// client would treat it: oversized, partial and idle requests, garbage, more connections than it serves,
/// too few descriptors, and a folder full of hostile manifests. It must stay up, keep serving valid
/// requests, log and count what it refused, and keep its memory bounded.
/// </summary>
[Collection(DescriptorHungry.Name)]
public sealed class AgentAbuseTests : IDisposable
{
    private const long RssBound = 400L << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly AgentPaths _paths = new();

    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: { name: web, namespace: shop, labels: { app: web } }
        spec: { containers: [{ name: c, image: busybox }] }
        """;

    private const string DenyAll = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: { name: deny-all, namespace: shop }
        spec: { podSelector: {}, policyTypes: [Ingress] }
        """;

    public AgentAbuseTests()
    {
        _paths.WriteManifest("pods.yaml", Pods);
        _paths.WriteManifest("deny.yaml", DenyAll);
    }

    public void Dispose() => _paths.Dispose();

    /// <summary>The agent's arguments, in a state folder of its own that does not exist yet (so the agent creates it).</summary>
    private string[] Arguments(string state, params string[] extra) =>
    [
        "--manifests", _paths.Manifests, "--socket", Path.Combine(state, "run", "agent.sock"),
        "--database", Path.Combine(state, "lib", "state.db"), "--spool", _paths.Spool,
        "--datapath", "none", "--node-name", "node-a", "--pod-wait-seconds", "0", .. extra,
    ];

    private string State => Path.Combine(_paths.Root, "state");

    private AgentClient Client() => new(Path.Combine(State, "run", "agent.sock"), _paths.Spool);

    private static EndpointRegistration Web(string containerId = "c-web") =>
        new(containerId, "eth0", "/var/run/netns/web", "shop", "web", "uid-web", ["10.244.1.5/24"], "0a:58:0a:f4:01:05", "vethweb");

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(Path.Combine(State, "run", "agent.sock")));
        return socket;
    }

    /// <summary>Reads what the agent sends until it closes the connection or <paramref name="within"/> passes.</summary>
    private static async Task<(string Text, bool Closed)> ReadUntilClosedAsync(Socket socket, TimeSpan within)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(within);
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (read == 0)
                    return (Encoding.UTF8.GetString(received.ToArray()), true);
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException)
        {
            return (Encoding.UTF8.GetString(received.ToArray()), false);
        }
        catch (SocketException)
        {
            return (Encoding.UTF8.GetString(received.ToArray()), true);
        }
    }

    [Fact]
    public async Task HostileClientsAndManifests_AgentStaysUp_ServesValidRequests_CountsRefusals_MemoryBounded()
    {
        using var agent = AgentProcess.Start(Arguments(State,
            "--socket-max-connections", "64", "--socket-idle-timeout-seconds", "2", "--socket-request-timeout-seconds", "2"),
            shellPrefix: "umask 000;");
        await agent.WaitReadyAsync();
        var client = Client();
        client.Register(Web(), Timeout);

        // Oversized: 16 MB without a newline. The agent answers and hangs up long before it is all sent.
        using (var big = Connect())
        {
            var sent = 0L;
            var chunk = Enumerable.Repeat((byte)'a', 64 << 10).ToArray();
            try
            {
                for (; sent < 16L << 20; sent += chunk.Length)
                    await big.SendAsync(chunk, SocketFlags.None).WaitAsync(Timeout);
            }
            catch (SocketException)
            {
            }
            var (reply, _) = await ReadUntilClosedAsync(big, Timeout);
            Assert.Contains("request is longer than", reply);
            Assert.True(sent < 16L << 20, "the agent read the whole 16 MB before refusing it");
        }

        // Partial requests and idle connections, 30 each (within the cap of 64), all closed by the agent after its timeouts.
        var partial = Enumerable.Range(0, 30).Select(_ => Connect()).ToList();
        var idle = Enumerable.Range(0, 30).Select(_ => Connect()).ToList();
        foreach (var socket in partial)
            socket.Send("{\"op\":\"register\",\"endpoint\":{\"contain"u8);
        var partialReplies = await Task.WhenAll(partial.Select(s => ReadUntilClosedAsync(s, TimeSpan.FromSeconds(20))));
        var idleReplies = await Task.WhenAll(idle.Select(s => ReadUntilClosedAsync(s, TimeSpan.FromSeconds(20))));
        Assert.All(partialReplies, r => Assert.True(r.Closed && r.Text.Contains("not complete within"), r.Text));
        Assert.All(idleReplies, r => Assert.True(r.Closed, "an idle connection was held open"));
        partial.Concat(idle).ToList().ForEach(s => s.Dispose());

        // Garbage: each line is answered with an error, on the same connection.
        var random = new Random(7);
        using (var garbage = Connect())
        {
            string[] lines = ["not json", "{\"op\":\"frobnicate\"}", "{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0\",\"podNamespace\":\"shop\",\"podName\":\"a b\",\"addresses\":[\"10.0.0.1/32\"]}}", "[]", "null", "{\"op\":1}"];
            for (var i = 0; i < 100; i++)
            {
                var bytes = i < lines.Length ? Encoding.UTF8.GetBytes(lines[i]) : Enumerable.Range(0, 200).Select(_ => (byte)random.Next(32, 127)).ToArray();
                garbage.Send([.. bytes, (byte)'\n']);
                var reply = ReadLine(garbage);
                Assert.StartsWith("{\"ok\":false", reply);
            }
        }

        // More connections than the cap: the ones beyond it get an error and are closed; valid requests work once they go.
        var crowd = Enumerable.Range(0, 100).Select(_ => Connect()).ToList();
        var crowdReplies = await Task.WhenAll(crowd.Select(s => ReadUntilClosedAsync(s, TimeSpan.FromMilliseconds(1500))));
        Assert.Contains(crowdReplies, r => r.Closed && r.Text.Contains("serving 64 connections already"));
        crowd.ForEach(s => s.Dispose());
        Assert.True(await Poll.UntilAsync(() => AgentProcess.Sample(agent.MetricsAsync().Result, "patronus_agent_socket_connections") == 0, TimeSpan.FromSeconds(20)), "condition not reached in time");
        Assert.Equal(1, client.GetStatus(Timeout).PodsManaged);

        // Hostile manifests, then a valid change that must still be applied.
        var bomb = new StringBuilder("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
            bomb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        _paths.WriteManifest("bomb.yaml", bomb.ToString());
        _paths.WriteManifest("recursive.yaml", "apiVersion: v1\nkind: Pod\nmetadata: &a {name: m, x: *a}\n");
        _paths.WriteManifest("deep.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nx: " + new string('[', 20_000) + new string(']', 20_000) + "\n");
        _paths.WriteManifest("deep-block.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nx:\n" + string.Concat(Enumerable.Repeat("- ", 20_000)) + "a\n");
        _paths.WriteManifest("null-port.yaml", Pods.Replace("name: web", "name: other").Replace("image: busybox", "image: busybox, ports: [~]"));
        _paths.WriteManifest("null-rule.yaml", DenyAll.Replace("deny-all", "null-rule").Replace("policyTypes: [Ingress]", "ingress: [~]"));
        _paths.WriteManifest("huge-port.yaml", Pods.Replace("name: web", "name: huge").Replace("image: busybox", "image: busybox, ports: [{ containerPort: 1e999 }]"));
        _paths.WriteManifest("bad-name.yaml", DenyAll.Replace("deny-all", "bad name"));
        using (var big = File.Create(Path.Combine(_paths.Manifests, "huge.yaml")))
            big.SetLength(64L << 20);
        Assert.Equal(0, Command.Run("mkfifo", [Path.Combine(_paths.Manifests, "x.yaml")]).ExitCode);
        Assert.True(await Poll.UntilAsync(() => AgentProcess.Sample(agent.MetricsAsync().Result, "patronus_agent_errors_total{component=\"manifests\"}") >= 10, TimeSpan.FromSeconds(20)), "condition not reached in time");
        _paths.WriteManifest("allow.yaml", DenyAll.Replace("deny-all", "allow-web").Replace("policyTypes: [Ingress]", "ingress: [{}]"));
        Assert.True(await Poll.UntilAsync(() => client.GetStatus(Timeout).NetworkPolicies == 2, TimeSpan.FromSeconds(20)), "condition not reached in time");

        // Still up, still serving, everything refused counted and logged, memory bounded.
        Assert.False(agent.HasExited);
        client.Register(Web("c-web2"), Timeout);
        Assert.True(client.UnregisterOrQueue("c-web2", "eth0", Timeout));
        Assert.Equal(HttpStatusCode.OK, await agent.StatusOf("/healthz"));
        Assert.Equal(HttpStatusCode.OK, await agent.StatusOf("/readyz"));
        var metrics = await agent.MetricsAsync();
        Assert.True(AgentProcess.Sample(metrics, "patronus_agent_socket_rejected_total{reason=\"too_large\"}") >= 1, metrics);
        Assert.True(AgentProcess.Sample(metrics, "patronus_agent_socket_rejected_total{reason=\"timeout\"}") >= 30, metrics);
        Assert.True(AgentProcess.Sample(metrics, "patronus_agent_socket_rejected_total{reason=\"idle\"}") >= 30, metrics);
        Assert.True(AgentProcess.Sample(metrics, "patronus_agent_socket_rejected_total{reason=\"malformed\"}") >= 100, metrics);
        Assert.True(AgentProcess.Sample(metrics, "patronus_agent_socket_rejected_total{reason=\"connection_limit\"}") >= 1, metrics);
        Assert.Equal(0, AgentProcess.Sample(metrics, "patronus_agent_errors_total{component=\"source\"}"));
        var log = string.Join('\n', agent.Lines);
        Assert.Contains("Socket request refused", log);
        // About 200 refusals, all counted; the log gets ten lines a minute (the next one says how many it left out).
        var refusalLines = agent.Lines.Count(l => l.Contains("Socket request refused"));
        Assert.InRange(refusalLines, 1, 20);
        Assert.Contains("null-port.yaml:1", log);
        Assert.Contains("spec.containers[0].ports[0]", log);
        Assert.Contains("a FIFO is not a regular file", log);
        Assert.Contains("aliases expand to more than", log);
        var rss = agent.ResidentBytes();
        Assert.True(rss < RssBound, $"the agent holds {rss >> 20} MB");

        // Every state file the agent made is the root's alone, even under umask 000.
        var database = Path.Combine(State, "lib", "state.db");
        foreach (var file in new[] { database, database + "-wal", database + "-shm", database + ".lock", Path.Combine(State, "run", "agent.sock"), Path.Combine(State, "run", "agent.sock.lock") })
            Assert.Equal((file, UnixFileMode.UserRead | UnixFileMode.UserWrite), (file, File.GetUnixFileMode(file)));
        foreach (var directory in new[] { Path.Combine(State, "lib"), Path.Combine(State, "run") })
            Assert.Equal((directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), (directory, File.GetUnixFileMode(directory)));
    }

    [Fact]
    public async Task OutOfDescriptors_AcceptKeepsGoing_AndServesOnceTheyAreFree()
    {
        using var agent = AgentProcess.Start(Arguments(State, "--socket-max-connections", "5000", "--socket-idle-timeout-seconds", "60"), shellPrefix: "ulimit -n 400;");
        await agent.WaitReadyAsync();

        // Connect until the agent is out of descriptors and its backlog is full: then connects keep failing.
        var hoard = new List<Socket>();
        for (var failures = 0; hoard.Count < 1500 && failures < 30;)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(State, "run", "agent.sock"))).WaitAsync(TimeSpan.FromSeconds(1));
                hoard.Add(socket);
                failures = 0;
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                socket.Dispose();
                failures++;
                await Task.Delay(100);
            }
        }
        // While it has no descriptor to spare, even its HTTP server cannot answer: read its log instead.
        Assert.True(hoard.Count > 128, $"only {hoard.Count} connections were made: the backlog alone holds 128");
        Assert.True(await Poll.UntilAsync(() => agent.Lines.Any(l => l.Contains("Accepting a connection on the endpoint socket failed")), TimeSpan.FromSeconds(20)), "condition not reached in time");
        Assert.False(agent.HasExited, $"the agent exited out of descriptors; its last lines:\n{string.Join('\n', agent.Lines.TakeLast(30))}");
        hoard.ForEach(s => s.Dispose());

        Assert.True(await Poll.UntilAsync(async () => await agent.StatusOf("/healthz") == HttpStatusCode.OK, TimeSpan.FromSeconds(20)),
            $"the agent does not serve /healthz 20 s after the descriptors were freed (exited: {agent.HasExited}); its last lines:\n{string.Join('\n', agent.Lines.TakeLast(20))}");
        Client().Register(Web(), Timeout);
        Assert.Equal(1, Client().GetStatus(Timeout).PodsManaged);
        Assert.True(AgentProcess.Sample(await agent.MetricsAsync(), "patronus_agent_errors_total{component=\"socket\"}") >= 1);
        Assert.False(agent.HasExited);
    }

    [Fact]
    public async Task SecondAgentOnTheSameState_WaitsForTheFirst_AndTakesOverWhenItIsGone()
    {
        using var first = AgentProcess.Start(Arguments(State));
        await first.WaitReadyAsync();
        Client().Register(Web(), Timeout);

        using var second = AgentProcess.Start(Arguments(State));
        Assert.True(await Poll.UntilAsync(() => second.Lines.Any(l => l.Contains("Another patronus-agent holds") && l.Contains("waiting")), TimeSpan.FromSeconds(20)), "condition not reached in time");
        await Task.Delay(1000);
        Assert.False(second.HasExited);
        Assert.Null(await second.StatusOf("/healthz"));
        Assert.Equal(1, Client().GetStatus(Timeout).PodsManaged);

        first.Kill();

        await second.WaitReadyAsync();
        Assert.Equal(1, Client().GetStatus(Timeout).PodsManaged);
        Assert.True(Client().UnregisterOrQueue("c-web", "eth0", Timeout));
    }

    private static string ReadLine(Socket socket)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        socket.ReceiveTimeout = 10_000;
        while (socket.Receive(one) == 1 && one[0] != '\n')
            bytes.Add(one[0]);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}

/// <summary>
/// Tests that open hundreds of sockets in the test process run alone: libnftables (used by the datapath
/// tests in this process) passes its netlink socket to select(), and glibc aborts the whole process when
/// that descriptor number is 1024 or more.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DescriptorHungry
{
    public const string Name = "descriptor hungry";
}
