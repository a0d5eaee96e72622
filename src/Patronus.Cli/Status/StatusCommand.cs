using System.CommandLine;
using System.Text.Json;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;

namespace Patronus.Cli.Status;

/// <summary><c>patronus status</c>: what the node's live agent reports (the seed's <c>patronus-cni status</c>).</summary>
internal static class StatusCommand
{
    public const int Success = 0;
    public const int AgentNotRunning = 1;

    public static Command Create()
    {
        var socket = new Option<string>("--socket", "-s")
        {
            Description = $"The agent's unix socket (default {AgentClient.DefaultSocketPath}).",
            DefaultValueFactory = _ => AgentClient.DefaultSocketPath,
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "text (default) or json (the agent's status payload as is).",
            DefaultValueFactory = _ => "text",
        };
        output.AcceptOnlyFromAmong("text", "json");
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for the agent's answer (default 5).",
            DefaultValueFactory = _ => 5,
        };

        var command = new Command("status", "Show the node's Patronus state from the running agent: plugin, bridge, database, pods, policies, tunnels.\n" +
            "Exit codes: 0 the agent answered; 1 the agent is not running or did not answer.");
        command.Options.Add(socket);
        command.Options.Add(output);
        command.Options.Add(timeout);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(socket)!;
            AgentStatus status;
            try
            {
                status = new AgentClient(path).GetStatus(TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(timeout))));
            }
            catch (AgentUnavailableException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AccessDenied })
            {
                stderr.WriteLine($"patronus status: permission denied on the agent's socket {path}: the socket is root-only; run as root (sudo patronus status).");
                return AgentNotRunning;
            }
            catch (Exception e) when (e is AgentUnavailableException or AgentRejectedException or AgentProtocolException)
            {
                stderr.WriteLine($"patronus status: the Patronus agent is not running on this node ({e.Message}).");
                stderr.WriteLine("Start it (in Kubernetes: the patronus-agent DaemonSet in kube-system; by hand: patronus-agent --manifests DIR), or point to its socket with --socket PATH.");
                return AgentNotRunning;
            }
            if (parse.GetValue(output) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(AgentReply.Success(status), ProtocolJsonContext.Default.AgentReply));
            else
                Render(status, stdout);
            return Success;
        });
        return command;
    }

    internal static void Render(AgentStatus status, TextWriter output)
    {
        Line(status.Ready, $"Agent: running on {status.NodeName} (cluster state from {status.Source}, datapath {status.Datapath}{(status.Ready ? "" : ", not ready yet: initial sync or datapath programming pending")})");
        Line(status.Plugin.Installed, status.Plugin.Installed ? $"CNI plugin installed: {status.Plugin.Path}" : $"CNI plugin not installed: {status.Plugin.Path} is missing");
        var bridge = status.Bridge;
        Line(bridge.Present, bridge.Present
            ? $"Bridge interface: {bridge.Name}{(bridge.Addresses.Count > 0 ? $" ({string.Join(", ", bridge.Addresses)})" : " (no address)")}"
            : $"Bridge interface: {bridge.Name} does not exist yet (the plugin creates it with the first pod)");
        Line(status.Database.Present, status.Database.Present ? $"SD-WAN database: {status.Database.Path}" : $"SD-WAN database: {status.Database.Path} is missing");
        var up = status.Tunnels.Where(t => t.Up).ToList();
        if (status.Mesh is { } mesh && mesh.Problem is { } problem)
            Line(false, $"Mesh: {problem}");
        output.WriteLine(status.Mesh is { Role: "node" } node
            ? $"- Active tunnels: on the gateway nodes (this node routes {(node.Sites.Count == 0 ? "no remote clusters" : string.Join(", ", node.Sites.Select(s => s.Id)))} to one)"
            : status.Tunnels.Count == 0
            ? status.Mesh is null ? "- Active tunnels: 0 (no remote clusters configured)" : "✗ Active tunnels: 0 (no other member heard from yet)"
            : $"{Mark(up.Count == status.Tunnels.Count)} Active tunnels: {up.Count} ({string.Join(", ", status.Tunnels.Select(t => t.Up ? t.ClusterId : t.ClusterId + " down"))})");
        Line(true, $"Pods managed: {status.PodsManaged}");
        Line(true, $"NetworkPolicies: {status.NetworkPolicies}");

        void Line(bool ok, string text) => output.WriteLine($"{Mark(ok)} {text}");
    }

    private static string Mark(bool ok) => ok ? "✓" : "✗";
}
