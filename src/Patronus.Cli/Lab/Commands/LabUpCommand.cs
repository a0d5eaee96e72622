using System.CommandLine;
using Patronus.Cli.Lab.Running;

namespace Patronus.Cli.Lab.Commands;

/// <summary><c>patronus lab up -f LAB.yaml [--name NAME]</c>: build a lab and leave it running.</summary>
internal static class LabUpCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file", "-f") { Description = "The lab file (LAB.yaml): clusters, their ranges, nodes and manifests. See the README.", Required = true };
        var name = LabOptions.Name();
        var datapath = new Option<string>("--datapath")
        {
            Description = "Every agent's datapath: nftables or ebpf (default: what LAB.yaml says, else nftables).",
        };
        datapath.AcceptOnlyFromAmong(Config.LabConfig.Datapaths);
        var retain = new Option<bool>("--retain") { Description = "On failure, keep what was made for inspection (remove it later with `lab down`)." };
        var command = new Command("up",
            "Build a lab of network namespaces on this machine and leave it running: a fabric (subnets, a router, an internet host), " +
            "a namespace per node with a real patronus-agent, and every pod of the manifests wired by the real patronus-cni. " +
            "Returns once every pod has its address and every agent is ready and in step.\n" + LabOptions.ExitCodes);
        command.Options.Add(file);
        command.Options.Add(name);
        command.Options.Add(datapath);
        command.Options.Add(retain);
        command.SetAction((parse, cancellation) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            return Task.Run(() => LabOptions.RunAsync(stderr, async store =>
            {
                var builder = new LabBuilder(store, LabBinaries.Locate(), stderr);
                var prepared = builder.Prepare(parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(datapath));
                var record = await builder.UpAsync(prepared, parse.GetValue(retain), cancellation);
                stdout.WriteLine($"lab {record.Name} is up: {record.Plan.Nodes.Count()} node(s), {record.Pods.Count} pod(s). " +
                    $"`patronus lab status --name {record.Name}` shows it, `patronus lab down --name {record.Name}` removes it.");
                return LabOptions.Success;
            }), CancellationToken.None);
        });
        return command;
    }
}
