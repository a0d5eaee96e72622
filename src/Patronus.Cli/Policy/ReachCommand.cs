using System.CommandLine;
using System.Text.Json;
using Patronus.Policy.Analysis;
using Patronus.Policy.Compiled;
using Spectre.Console;

namespace Patronus.Cli.Policy;

/// <summary><c>patronus policy reach</c>: the who-can-reach-whom matrix, computed from the compiled per-endpoint policy.</summary>
internal static class ReachCommand
{
    public static Command Create()
    {
        var files = PolicyCommand.FilesOption();
        var ports = new Option<string[]>("--port", "-p")
        {
            Description = "PORT[/PROTO] to probe (PROTO: TCP (default), UDP or SCTP); repeatable. Default: every port the pods declare.",
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "table (default) or json: {\"results\":[{\"port\":80,\"protocol\":\"TCP\",\"matrix\":{\"FROM\":{\"TO\":true}}}]}",
            DefaultValueFactory = _ => "table",
        };
        output.AcceptOnlyFromAmong("table", "json");

        var command = new Command("reach", "Show which pods may reach which, per port, as NetworkPolicy allows it.\n" + PolicyCommand.ExitCodes);
        command.Options.Add(files);
        command.Options.Add(ports);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var probes = new List<Probe>();
            foreach (var text in parse.GetValue(ports) ?? [])
            {
                if (!Probe.TryParse(text, out var probe, out var error))
                {
                    stderr.WriteLine($"error: {error}");
                    return PolicyCommand.UsageError;
                }
                probes.Add(probe);
            }
            var input = PolicyInput.Load(parse.GetValue(files)!, stderr);
            if (probes.Count == 0)
                probes.AddRange(input.DeclaredProbes());
            var endpoints = input.Endpoints();
            if (parse.GetValue(output) == "json")
                WriteJson(stdout, endpoints, probes);
            else
                WriteTable(stdout, endpoints, probes);
            return input.HadErrors ? PolicyCommand.PartialInput : PolicyCommand.Success;
        });
        return command;
    }

    private static void WriteJson(TextWriter stdout, IReadOnlyList<EndpointPolicy> endpoints, IReadOnlyList<Probe> probes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("results");
            foreach (var probe in probes)
            {
                json.WriteStartObject();
                json.WriteNumber("port", probe.Port);
                json.WriteString("protocol", probe.ProtocolName);
                json.WriteStartObject("matrix");
                foreach (var from in endpoints)
                {
                    json.WriteStartObject(from.Endpoint.ToString());
                    foreach (var to in endpoints)
                        json.WriteBoolean(to.Endpoint.ToString(), Reachability.Allows(from, to, probe.Protocol, probe.Port));
                    json.WriteEndObject();
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WriteTable(TextWriter stdout, IReadOnlyList<EndpointPolicy> endpoints, IReadOnlyList<Probe> probes)
    {
        var console = PolicyCommand.Console(stdout);
        if (endpoints.Count == 0)
        {
            console.MarkupLine("No pods with an IP address in the given files.");
            return;
        }
        if (probes.Count == 0)
        {
            console.MarkupLine("No ports to probe: the pods declare none; pass --port PORT[/PROTO].");
            return;
        }
        foreach (var probe in probes)
        {
            var table = new Table { Title = new TableTitle($"{probe} (rows: from, columns: to)") };
            table.AddColumn(new TableColumn("from \\ to"));
            foreach (var to in endpoints)
                table.AddColumn(new TableColumn(Markup.Escape(to.Endpoint.ToString())).Centered());
            var allowed = 0;
            foreach (var from in endpoints)
            {
                var cells = new List<string> { Markup.Escape(from.Endpoint.ToString()) };
                foreach (var to in endpoints)
                {
                    var ok = Reachability.Allows(from, to, probe.Protocol, probe.Port);
                    allowed += ok ? 1 : 0;
                    cells.Add(ok ? "[green]✓[/]" : "[red bold]✗[/]");
                }
                table.AddRow(cells.ToArray());
            }
            console.Write(table);
            console.MarkupLine($"{probe}: [green]{allowed} allowed ✓[/], [red]{endpoints.Count * endpoints.Count - allowed} denied ✗[/]");
            console.WriteLine();
        }
    }
}
