using System.CommandLine;
using System.Text.Json;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Spectre.Console;

namespace Patronus.Cli.Mesh;

/// <summary><c>patronus mesh services [-o table|json]</c>: this cluster's exports with their KEP-1645 conditions, and its imports.</summary>
internal static class MeshServicesCommand
{
    public static Command Create(Func<Option<string>> socketOption)
    {
        var socket = socketOption();
        var output = new Option<string>("--output", "-o") { Description = "table (default) or json.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        var command = new Command("services",
            "Multi-cluster services as this node's agent sees them: each ServiceExport of this cluster with its conditions (Valid, Ready, Conflict; " +
            "computed on the cluster's import writer, a gateway), each ServiceImport with its ClusterSetIPs, ports and the endpoints of every " +
            "exporting cluster, and (on a gateway) the other clusters heard from.\n" +
            "Exit codes: 0 the agent answered; 1 the agent is not running, or multi-cluster services are not configured on it.");
        command.Options.Add(socket);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            ServicesStatus services;
            try
            {
                services = new AgentClient(parse.GetValue(socket)!).GetServices();
            }
            catch (AgentRejectedException e)
            {
                stderr.WriteLine($"patronus mesh services: the agent refused: {e.Message}");
                return MeshCommand.Failed;
            }
            catch (Exception e) when (e is AgentUnavailableException or AgentProtocolException)
            {
                stderr.WriteLine($"patronus mesh services: the Patronus agent is not running on this node ({e.Message}); point to its socket with --socket PATH.");
                return MeshCommand.Failed;
            }
            if (parse.GetValue(output) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(services, ProtocolJsonContext.Default.ServicesStatus));
            else
                Render(services, stdout);
            return MeshCommand.Success;
        });
        return command;
    }

    internal static void Render(ServicesStatus services, TextWriter output)
    {
        output.WriteLine($"Cluster {services.ClusterId}: {(services.Writer ? "gateway, the cluster's import writer" : services.Gateway ? "gateway (another agent writes the imports)" : "node (programs the imports it reads)")}");
        if (services.Problem is { } problem)
            output.WriteLine($"Problem: {problem}");
        var console = Policy.PolicyCommand.Console(output);
        if (services.Clusters.Length > 0)
        {
            var clusters = new Table().AddColumns("CLUSTER", "STATE", "LAST HEARD");
            foreach (var cluster in services.Clusters)
                clusters.AddRow(Markup.Escape(cluster.Id), cluster.Alive ? "alive" : "unreachable (endpoints withdrawn)", cluster.LastHeardSecondsAgo is { } ago ? $"{ago:0.0} s ago" : "-");
            console.Write(clusters);
        }
        var exports = new Table().AddColumns("EXPORT", "VALID", "READY", "CONFLICT");
        foreach (var export in services.Exports)
        {
            exports.AddRow(Markup.Escape($"{export.Namespace}/{export.Name}"), Condition(export, "Valid"), Condition(export, "Ready"), Condition(export, "Conflict"));
        }
        if (services.Exports.Length == 0)
            output.WriteLine("Exports: none");
        else
            console.Write(exports);
        foreach (var message in services.Exports.SelectMany(e => e.Conditions.Where(c => c.Type == "Conflict" && c.Status == "True" || c.Type == "Valid" && c.Status == "False")
            .Select(c => $"{e.Namespace}/{e.Name} {c.Type}: {c.Message}")))
            output.WriteLine(message);
        var imports = new Table().AddColumns("IMPORT", "TYPE", "CLUSTERSET IPS", "PORTS", "AFFINITY", "CLUSTER", "ENDPOINTS");
        foreach (var import in services.Imports)
        {
            var first = true;
            foreach (var cluster in import.Clusters.DefaultIfEmpty(new ServiceImportClusterStatus { Cluster = "-" }))
            {
                imports.AddRow(
                    first ? Markup.Escape($"{import.Namespace}/{import.Name}") : "",
                    first ? import.Type : "",
                    first ? Markup.Escape(Join(import.Ips)) : "",
                    first ? Markup.Escape(Join(import.Ports)) : "",
                    first ? import.SessionAffinity : "",
                    Markup.Escape(cluster.Cluster),
                    Markup.Escape(Join(cluster.Endpoints)));
                first = false;
            }
        }
        if (services.Imports.Length == 0)
            output.WriteLine("Imports: none");
        else
            console.Write(imports);
    }

    private static string Condition(ServiceExportStatus export, string type) =>
        export.Conditions.FirstOrDefault(c => c.Type == type) is { } condition ? Markup.Escape($"{condition.Status} ({condition.Reason})") : "-";

    private static string Join(IEnumerable<string> items) => items.Any() ? string.Join(", ", items) : "-";
}
