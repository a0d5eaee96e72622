using System.CommandLine;
using System.Net.Sockets;
using Patronus.Agent.Client.Protocol;
using Patronus.Cli.Status;

namespace Patronus.Cli.Tests.Status;

public sealed class StatusCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pagt-status-").FullName;

    private string SocketPath => Path.Combine(_directory, "agent.sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = StatusCommand.Create().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Status_AgentNotRunning_SaysSoAndFails()
    {
        var (exit, output, error) = Run("--socket", SocketPath);

        Assert.Equal(StatusCommand.AgentNotRunning, exit);
        Assert.Empty(output);
        Assert.Contains("the Patronus agent is not running on this node", error);
        Assert.Contains(SocketPath, error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Status_AgentRunning_PrintsWhatItReports()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen();
        var agent = Task.Run(() =>
        {
            using var connection = listener.Accept();
            using var reader = new StreamReader(new NetworkStream(connection));
            var request = AgentProtocol.DecodeRequest(System.Text.Encoding.UTF8.GetBytes(reader.ReadLine()!));
            connection.Send(AgentProtocol.EncodeReply(AgentReply.Success(new AgentStatus
            {
                NodeName = "node-a", Source = "kubernetes", Datapath = "nftables", Ready = true,
                Plugin = new PluginStatus { Path = "/opt/cni/bin/patronus-cni", Installed = true },
                Bridge = new BridgeStatus { Name = "cni-bridge0", Present = true, Addresses = ["10.244.0.1/16"] },
                Database = new DatabaseStatus { Path = "/var/lib/patronus/k8s-sdwan.db", Present = true },
                PodsManaged = 47, NetworkPolicies = 12,
            })));
            return request.Op;
        });

        var (exit, output, _) = Run("--socket", SocketPath);

        Assert.Equal(StatusCommand.Success, exit);
        Assert.Equal(AgentOps.Status, await agent);
        Assert.Equal(
            """
            ✓ Agent: running on node-a (cluster state from kubernetes, datapath nftables)
            ✓ CNI plugin installed: /opt/cni/bin/patronus-cni
            ✓ Bridge interface: cni-bridge0 (10.244.0.1/16)
            ✓ SD-WAN database: /var/lib/patronus/k8s-sdwan.db
            - Active tunnels: 0 (no remote clusters configured)
            ✓ Pods managed: 47
            ✓ NetworkPolicies: 12

            """.ReplaceLineEndings("\n"), output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Render_MissingPluginAndBridge_AreMarked()
    {
        var output = new StringWriter();

        StatusCommand.Render(new AgentStatus
        {
            NodeName = "n", Source = "manifests", Datapath = "none", Ready = false,
            Plugin = new PluginStatus { Path = "/opt/cni/bin/patronus-cni", Installed = false },
            Bridge = new BridgeStatus { Name = "cni-bridge0", Present = false },
            Database = new DatabaseStatus { Path = "/db", Present = true },
            Tunnels = [new TunnelStatus { ClusterId = "gcp", Up = true }, new TunnelStatus { ClusterId = "dc1", Up = false }],
        }, output);

        var text = output.ToString();
        Assert.Contains("✗ Agent: running on n (cluster state from manifests, datapath none, not ready yet", text);
        Assert.Contains("✗ CNI plugin not installed: /opt/cni/bin/patronus-cni is missing", text);
        Assert.Contains("✗ Bridge interface: cni-bridge0 does not exist yet", text);
        Assert.Contains("✗ Active tunnels: 1 (gcp, dc1 down)", text);
    }
}
