using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>
/// The plugin's side of the agent contract: ADD registers the endpoint (and with enforcement on, fails with
/// code 11 and leaves nothing when the agent is away); DEL removes it, or queues the removal when the agent is down.
/// </summary>
[Collection("kernel")]
public sealed class AgentRegistrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pcni-agent-").FullName;

    private string Socket => Path.Combine(_dir, "agent.sock");

    private string Spool => Path.Combine(_dir, "pending");

    private Node NodeWith(bool enforcement) => new(extra:
        $$"""
        "sdwan":{"enable_policy_enforcement":{{(enforcement ? "true" : "false")}},"agent_socket":"{{Socket}}","agent_spool_dir":"{{Spool}}"}
        """);

    [Fact]
    public void Add_EnforcementOn_AgentUnreachable_FailsWithCode11AndLeavesNothing()
    {
        using var node = NodeWith(enforcement: true);
        var pod = node.NewPod();

        var outcome = node.Invoke("ADD", "pcni-agent-1", pod.Path);

        Assert.Equal(11, outcome.ErrorCode);
        Assert.Contains(Socket, outcome.Message);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.DoesNotContain(" eth0@", pod.Links());
    }

    [Fact]
    public void Add_EnforcementOff_AgentUnreachable_StillGivesThePodItsNetwork()
    {
        using var node = NodeWith(enforcement: false);
        var pod = node.NewPod();

        node.Add("pcni-agent-2", pod);

        Assert.Single(node.OurVeths());
        Assert.True(Shell.Ping(pod.Name, "10.231.0.1"));
        // The agent learns of the pod when it returns: the registration waits in the spool.
        var queued = Assert.Single(new Patronus.Agent.Client.Spool.PendingRemovalSpool(Spool).ReadRegistrations());
        Assert.Equal("pcni-agent-2", queued.Registration!.ContainerId);
        Assert.Empty(new Patronus.Agent.Client.Spool.PendingRemovalSpool(Spool).ReadAll());
    }

    [Fact]
    public void Del_AgentDown_SucceedsAndQueuesTheRemovalForTheAgentsReturn()
    {
        using var node = NodeWith(enforcement: false);
        var pod = node.NewPod();
        node.Add("pcni-agent-3", pod);

        node.Del("pcni-agent-3", pod.Path);

        Assert.Empty(node.OurVeths());
        var queued = Assert.Single(Directory.GetFiles(Spool));
        var removal = JsonNode.Parse(File.ReadAllText(queued))!;
        Assert.Equal("pcni-agent-3", (string?)removal["containerId"]);
        Assert.Equal("eth0", (string?)removal["ifName"]);
    }

    [Fact]
    public async Task AddThenDel_WithAnAgent_RegisterTheEndpointAndRemoveIt()
    {
        using var node = NodeWith(enforcement: true);
        var pod = node.NewPod();
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Socket));
        listener.Listen(4);
        var requests = AnswerOk(listener, count: 2);

        var result = node.Invoke("ADD", "pcni-agent-4", pod.Path, args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_UID=u-1");
        Assert.True(result.ExitCode == 0, result.ToString());
        node.Del("pcni-agent-4", pod.Path);

        var lines = await requests.WaitAsync(TimeSpan.FromSeconds(10));
        var register = JsonNode.Parse(lines[0])!;
        Assert.Equal("register", (string?)register["op"]);
        var endpoint = register["endpoint"]!;
        Assert.Equal("pcni-agent-4", (string?)endpoint["containerId"]);
        Assert.Equal("shop", (string?)endpoint["podNamespace"]);
        Assert.Equal("web", (string?)endpoint["podName"]);
        Assert.Equal("u-1", (string?)endpoint["podUid"]);
        Assert.Equal(pod.Path, (string?)endpoint["netns"]);
        Assert.Contains("10.231.0.2/24", endpoint["addresses"]!.AsArray().Select(a => (string?)a));
        Assert.StartsWith("pat", (string?)endpoint["hostInterface"]);
        var unregister = JsonNode.Parse(lines[1])!;
        Assert.Equal("unregister", (string?)unregister["op"]);
        Assert.Equal("pcni-agent-4", (string?)unregister["removal"]!["containerId"]);
        Assert.False(Directory.Exists(Spool) && Directory.GetFiles(Spool).Length > 0, "the removal was queued although the agent answered");
    }

    [Theory]
    [InlineData("rejects the endpoint")]
    [InlineData("hangs up without answering")]
    public async Task Add_FailsAfterTheRegistrationReachedTheAgent_UnregistersTheEndpoint(string agentBehaviour)
    {
        // The agent may have stored the endpoint before it failed to answer well; IPAM frees the address on the
        // way out, and the next pod given that address must not inherit this endpoint's policy.
        using var node = NodeWith(enforcement: true);
        var pod = node.NewPod();
        using var listener = Listen();
        var agent = Task.Run(async () =>
        {
            var lines = new List<string>();
            using (var first = await listener.AcceptAsync())
            {
                lines.Add(await ReadLine(first));
                if (agentBehaviour == "rejects the endpoint")
                    await first.SendAsync("{\"ok\":false,\"error\":\"datapath: nft failed\"}\n"u8.ToArray());
            }
            using var second = await listener.AcceptAsync();
            lines.Add(await ReadLine(second));
            await second.SendAsync("{\"ok\":true}\n"u8.ToArray());
            return lines;
        });

        var outcome = node.Invoke("ADD", "pcni-agent-5", pod.Path);

        Assert.Equal(11, outcome.ErrorCode);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.DoesNotContain(" eth0@", pod.Links());
        Assert.True(await Task.WhenAny(agent, Task.Delay(TimeSpan.FromSeconds(10))) == agent,
            "the agent heard no unregister after the failed ADD");
        var lines = await agent;
        Assert.Equal("register", (string?)JsonNode.Parse(lines[0])!["op"]);
        var unregister = JsonNode.Parse(lines[1])!;
        Assert.Equal("unregister", (string?)unregister["op"]);
        Assert.Equal("pcni-agent-5", (string?)unregister["removal"]!["containerId"]);
        Assert.Equal("eth0", (string?)unregister["removal"]!["ifName"]);
        Assert.False(Directory.Exists(Spool) && Directory.GetFiles(Spool).Length > 0, "the removal was queued although the agent answered");
    }

    [Fact]
    public void Add_EnforcementOn_AgentNeverReached_QueuesNoRemoval()
    {
        // Nothing reached the agent, so there is nothing for it to forget: no removal waits in the spool.
        using var node = NodeWith(enforcement: true);
        var pod = node.NewPod();

        Assert.Equal(11, node.Invoke("ADD", "pcni-agent-6", pod.Path).ErrorCode);

        Assert.False(Directory.Exists(Spool) && Directory.GetFiles(Spool).Length > 0, "a removal was queued for an endpoint the agent never heard of");
    }

    [Theory]
    [InlineData("a regular file")]
    [InlineData("under a regular file")]
    public void Del_AgentDownAndTheRemovalCannotBeQueued_ReleasesEverythingAndSucceeds(string spoolKind)
    {
        var blocker = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(blocker, "x");
        var spool = spoolKind == "a regular file" ? blocker : Path.Combine(blocker, "pending");
        using var node = new Node(extra:
            $$$"""
            "sdwan":{"enable_policy_enforcement":false,"agent_socket":"{{{Socket}}}","agent_spool_dir":"{{{spool}}}"},
            "runtimeConfig":{"bandwidth":{"ingressRate":8000000,"ingressBurst":800000,"egressRate":8000000,"egressBurst":800000}}
            """);
        var pod = node.NewPod();
        node.Add("pcni-agent-7", pod);
        Assert.Single(node.OurVeths());
        Assert.Single(node.OurIfbs());

        var del = node.Invoke("DEL", "pcni-agent-7", pod.Path);

        Assert.True(del.ExitCode == 0, $"DEL failed because the agent removal could not be queued: {del}");
        Assert.Equal("", del.Stdout);
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.OurIfbs());
        Assert.Empty(node.ClaimedAddresses());
        Assert.DoesNotContain(" eth0@", pod.Links());
        // The operator learns why the agent may still list the endpoint, in words, without a stack trace.
        Assert.Contains(spool, del.Stderr);
        Assert.Contains("pcni-agent-7", del.Stderr);
        MessageHygiene.AssertClean(del.Stderr, "DEL's stderr");

        var again = node.Invoke("DEL", "pcni-agent-7", pod.Path);
        Assert.True(again.ExitCode == 0, $"a retried DEL failed: {again}");
    }

    private Socket Listen()
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Socket));
        listener.Listen(4);
        return listener;
    }

    private static async Task<string> ReadLine(Socket connection)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (!received.Contains((byte)'\n'))
        {
            var read = await connection.ReceiveAsync(buffer);
            if (read == 0)
                break;
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }
        return Encoding.UTF8.GetString(received.ToArray()).TrimEnd('\n');
    }

    /// <summary>A stand-in agent that answers every request with ok, as the real one does once policy is in force.</summary>
    private static async Task<List<string>> AnswerOk(Socket listener, int count)
    {
        var lines = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var connection = await listener.AcceptAsync();
            var received = new List<byte>();
            var buffer = new byte[4096];
            while (!received.Contains((byte)'\n'))
            {
                var read = await connection.ReceiveAsync(buffer);
                if (read == 0)
                    break;
                received.AddRange(buffer.AsSpan(0, read).ToArray());
            }
            lines.Add(Encoding.UTF8.GetString(received.ToArray()).TrimEnd('\n'));
            await connection.SendAsync("{\"ok\":true}\n"u8.ToArray());
        }
        return lines;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
