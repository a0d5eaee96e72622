using System.CommandLine;
using Patronus.Policy.Analysis;
using Patronus.Cli.Reach;

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
            if (!PolicyCommand.FilesExist(parse.GetValue(files)!, stderr))
                return PolicyCommand.UsageError;
            var input = PolicyInput.Load(parse.GetValue(files)!, stderr);
            if (probes.Count == 0)
                probes.AddRange(input.DeclaredProbes());
            var endpoints = input.Endpoints();
            var matrix = ReachMatrix.Compute(endpoints.Select(e => e.Endpoint).ToList(), probes,
                (from, to, probe) => Reachability.Allows(endpoints[from], endpoints[to], probe.Protocol, probe.Port));
            if (parse.GetValue(output) == "json")
                matrix.WriteJson(stdout);
            else
                matrix.WriteTable(PolicyCommand.Console(stdout));
            return input.HadErrors ? PolicyCommand.PartialInput : PolicyCommand.Success;
        });
        return command;
    }
}
