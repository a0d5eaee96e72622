using System.Net.Sockets;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Client.Spool;

namespace Patronus.Agent.Tests.Client;

public sealed class AgentClientTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pagt-client-").FullName;

    private string SocketPath => Path.Combine(_directory, "agent.sock");
    private string SpoolPath => Path.Combine(_directory, "pending");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static EndpointRegistration Endpoint() =>
        new("c1", "eth0", "/var/run/netns/x", "default", "web", "uid", ["10.244.1.5/24"], "0a:58:0a:f4:01:05", "veth1");

    [Fact]
    public void Register_SocketAbsent_ThrowsAgentUnavailable()
    {
        var client = new AgentClient(SocketPath, SpoolPath);

        var error = Assert.Throws<AgentUnavailableException>(() => client.Register(Endpoint(), TimeSpan.FromSeconds(2)));

        Assert.Contains(SocketPath, error.Message);
    }

    [Fact]
    public void Register_AgentNeverAnswers_ThrowsAgentUnavailableAfterTheTimeout()
    {
        using var listener = Listen();
        var client = new AgentClient(SocketPath, SpoolPath);

        var error = Assert.Throws<AgentUnavailableException>(() => client.Register(Endpoint(), TimeSpan.FromMilliseconds(200)));

        Assert.Contains("did not answer", error.Message);
    }

    [Fact]
    public async Task Register_AgentRefuses_ThrowsAgentRejectedWithItsMessage()
    {
        using var listener = Listen();
        var server = Task.Run(() => AnswerOnce(listener, AgentReply.Failure("datapath: table busy")));
        var client = new AgentClient(SocketPath, SpoolPath);

        var error = Assert.Throws<AgentRejectedException>(() => client.Register(Endpoint(), TimeSpan.FromSeconds(5)));

        Assert.Equal("datapath: table busy", error.Message);
        Assert.Equal(AgentOps.Register, (await server).Op);
    }

    [Fact]
    public async Task UnregisterOrQueue_AgentAnswers_AppliesWithoutSpooling()
    {
        using var listener = Listen();
        var server = Task.Run(() => AnswerOnce(listener, AgentReply.Success()));
        var client = new AgentClient(SocketPath, SpoolPath);

        Assert.True(client.UnregisterOrQueue("c1", "eth0", TimeSpan.FromSeconds(5)));

        Assert.Equal(new EndpointRemoval("c1", "eth0"), (await server).Removal);
        Assert.Empty(new PendingRemovalSpool(SpoolPath).ReadAll());
    }

    [Fact]
    public void UnregisterOrQueue_AgentDown_WritesTheRemovalToTheSpool()
    {
        var client = new AgentClient(SocketPath, SpoolPath);

        Assert.False(client.UnregisterOrQueue("c1", "eth0"));
        Assert.False(client.UnregisterOrQueue("c1", "eth0"));

        var pending = Assert.Single(new PendingRemovalSpool(SpoolPath).ReadAll());
        Assert.Equal(new EndpointRemoval("c1", "eth0"), pending.Removal);
    }

    [Fact]
    public void GetStatus_ReturnsTheAgentsStatus()
    {
        using var listener = Listen();
        Task.Run(() => AnswerOnce(listener, AgentReply.Success(new AgentStatus { NodeName = "node-a", PodsManaged = 3 })));
        var client = new AgentClient(SocketPath, SpoolPath);

        var status = client.GetStatus(TimeSpan.FromSeconds(5));

        Assert.Equal("node-a", status.NodeName);
        Assert.Equal(3, status.PodsManaged);
    }

    [Theory]
    [InlineData("abc123", "eth0", "abc123.eth0.removal.json")]
    [InlineData("../../etc", "eth0", ".._.._etc.eth0.removal.json")]
    public void SpoolFileName_StaysInsideTheSpool(string containerId, string ifName, string expected)
    {
        Assert.Equal(expected, PendingRemovalSpool.FileName(new EndpointRemoval(containerId, ifName)));
    }

    private Socket Listen()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(SocketPath));
        socket.Listen();
        return socket;
    }

    private static AgentRequest AnswerOnce(Socket listener, AgentReply reply)
    {
        using var connection = listener.Accept();
        using var reader = new StreamReader(new NetworkStream(connection));
        var line = reader.ReadLine()!;
        connection.Send(AgentProtocol.EncodeReply(reply));
        return AgentProtocol.DecodeRequest(System.Text.Encoding.UTF8.GetBytes(line));
    }
}
