using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;

namespace Patronus.Cli.Paths;

/// <summary>
/// <c>patronus paths [-o table|json]</c>: the WAN paths to other clusters as this gateway's agent probes them, the
/// seed's status report (active paths by state, best and worst), and the path each QoS class and each annotated pod
/// uses now.
/// </summary>
internal static class PathsCommand
{
    public const int Success = 0;
    public const int Failed = 1;

    public static Command Create()
    {
        var socket = new Option<string>("--socket", "-s")
        {
            Description = $"The agent's unix socket (default {AgentClient.DefaultSocketPath}).",
            DefaultValueFactory = _ => AgentClient.DefaultSocketPath,
        };
        var output = new Option<string>("--output", "-o") { Description = "table (default) or json.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        var command = new Command("paths",
            "The WAN paths to other clusters as this gateway's agent probes them: state (Up, Degraded, Down), score, latency, jitter, loss, " +
            "spare capacity and failovers of each; the path each QoS class uses now towards each remote cluster; and the pods whose " +
            "annotations (patronus.io/max-latency-ms, patronus.io/min-bandwidth-mbps) give them a path of their own.\n" +
            "Exit codes: 0 the agent answered; 1 the agent is not running, or it has no paths (no mesh, or not a gateway).");
        command.Options.Add(socket);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            PathsStatus paths;
            try
            {
                paths = new AgentClient(parse.GetValue(socket)!).GetPaths();
            }
            catch (AgentRejectedException e)
            {
                stderr.WriteLine($"patronus paths: the agent refused: {e.Message}");
                return Failed;
            }
            catch (Exception e) when (e is AgentUnavailableException or AgentProtocolException)
            {
                stderr.WriteLine($"patronus paths: the Patronus agent is not running on this node ({e.Message}); point to its socket with --socket PATH.");
                return Failed;
            }
            if (parse.GetValue(output) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(paths, ProtocolJsonContext.Default.PathsStatus));
            else
                Render(paths, stdout);
            return Success;
        });
        return command;
    }

    internal static void Render(PathsStatus status, TextWriter output)
    {
        output.WriteLine($"Cluster {status.ClusterId}, node {status.Node}: " + (status.Gateway
            ? $"gateway, probing every {Number(status.ProbeIntervalMs)} ms"
            : "not a gateway (the gateway nodes probe the paths)"));
        if (status.Problem is { } problem)
            output.WriteLine($"Problem: {problem}");
        var paths = status.Paths;
        if (!status.Gateway && paths.Length == 0)
            return;
        output.WriteLine($"Active paths: {paths.Length} (Up: {Count("Up")}, Degraded: {Count("Degraded")}, Down: {Count("Down")})");
        if (paths.Length == 0)
            return;

        // The best path is one traffic can use; a Down path's score says how it was, not that it carries anything.
        var usable = paths.Where(p => p.State != "Down").ToList();
        output.WriteLine(usable.Count == 0
            ? "Best path:  none (every path is Down)"
            : $"Best path:  {Summary(usable.OrderByDescending(p => p.Score).First())}");
        if (paths.Length > 1)
            output.WriteLine($"Worst path: {Summary(paths.OrderBy(p => p.Score).First())}");

        output.WriteLine();
        var table = new Columns("PATH", "REMOTE", "GATEWAY", "DEVICE", "STATE", "SINCE", "SCORE", "LATENCY", "JITTER", "LOSS", "SPARE", "FAILOVERS");
        foreach (var path in paths)
        {
            table.Add(path.Id, path.Remote, Dash(path.RemoteGateway), Dash(path.Device), path.State, Duration(path.StateSinceSeconds),
                Number(path.Score, "0"), Milliseconds(path.LatencyMs), Milliseconds(path.JitterMs), Percent(path.LossPercent), Spare(path), Number(path.Failovers));
        }
        table.Write(output);

        if (status.Classes.Length > 0)
        {
            output.WriteLine();
            var classes = new Columns("QOS CLASS", "REMOTE", "PATH", "REASON");
            foreach (var choice in status.Classes)
                classes.Add(choice.QosClass, choice.Remote, choice.Path ?? "none", Dash(choice.Reason));
            classes.Write(output);
        }

        if (status.Pods.Length > 0)
        {
            output.WriteLine();
            var pods = new Columns("POD", "IPS", "QOS CLASS", "MAX LATENCY", "MIN BANDWIDTH", "REMOTE", "PATH");
            foreach (var pod in status.Pods)
            {
                pods.Add($"{pod.Namespace}/{pod.Name}", pod.Ips.Length == 0 ? "-" : string.Join(",", pod.Ips), pod.QosClass,
                    Milliseconds(pod.MaxLatencyMs), pod.MinBandwidthMbps is { } mbps ? $"{Number(mbps)} Mbit/s" : "-", pod.Remote, pod.Path ?? "none");
            }
            pods.Write(output);
        }

        int Count(string state) => paths.Count(p => p.State == state);
    }

    private static string Summary(PathReport path) =>
        $"{path.Id} → {path.Remote} (score {Number(path.Score, "0")}, latency {Milliseconds(path.LatencyMs)}, loss {Percent(path.LossPercent)})";

    private static string Spare(PathReport path) => (path.SpareMbps, path.CapacityMbps) switch
    {
        ({ } spare, { } capacity) => $"{Number(spare)}/{Number(capacity)} Mbit/s",
        ({ } spare, null) => $"{Number(spare)} Mbit/s",
        _ => "-",
    };

    private static string Milliseconds(double? value) => value is { } ms ? $"{Number(ms, "0.0")} ms" : "-";

    // Two decimals when they matter: the seed reports a 0.05% loss as such.
    private static string Percent(double value) => $"{Number(value, "0.0#")}%";

    private static string Number(double value, string format = "0.#") => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Dash(string value) => string.IsNullOrEmpty(value) ? "-" : value;

    internal static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Max(0, Math.Floor(seconds)));
        return span.TotalSeconds < 60 ? $"{(int)span.TotalSeconds}s"
            : span.TotalHours < 1 ? $"{span.Minutes}m{span.Seconds:00}s"
            : span.TotalDays < 1 ? $"{span.Hours}h{span.Minutes:00}m"
            : $"{(int)span.TotalDays}d{span.Hours:00}h";
    }

    /// <summary>A plain table, columns two spaces apart and no trailing blanks, so it reads the same in a terminal, a file and a test.</summary>
    private sealed class Columns(params string[] headers)
    {
        private readonly List<string[]> _rows = [headers];

        public void Add(params string[] cells) => _rows.Add(cells);

        public void Write(TextWriter output)
        {
            var widths = Enumerable.Range(0, headers.Length).Select(i => _rows.Max(r => r[i].Length)).ToArray();
            foreach (var row in _rows)
            {
                var line = new StringBuilder();
                for (var i = 0; i < row.Length; i++)
                    line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
                output.WriteLine(line.ToString().TrimEnd());
            }
        }
    }
}
