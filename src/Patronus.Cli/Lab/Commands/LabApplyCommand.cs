using System.CommandLine;
using Patronus.Cli.Lab.Running;

namespace Patronus.Cli.Lab.Commands;

/// <summary><c>patronus lab apply -f MANIFESTS [--name NAME] [--cluster ID]</c>: create or change objects in a running lab's cluster.</summary>
internal static class LabApplyCommand
{
    public static Command Create()
    {
        var files = LabOptions.Files("YAML or JSON manifests (or a folder of them): Pods, Namespaces, NetworkPolicies, Nodes, Services...; repeatable.");
        var name = LabOptions.Name();
        var cluster = LabOptions.Cluster();
        var command = new Command("apply",
            "Create or change objects in a running lab's cluster, as `kubectl apply` would: new pods are scheduled and wired by the real " +
            "plugin, and every object reaches the agents as a watch event. Returns once the agents are in step.\n" + LabOptions.ExitCodes);
        command.Options.Add(files);
        command.Options.Add(name);
        command.Options.Add(cluster);
        command.SetAction((parse, cancellation) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            return Task.Run(() => LabOptions.RunAsync(stderr, async store =>
            {
                var changes = new LabChanges(store, LabBinaries.Locate(), parse.InvocationConfiguration.Output);
                await changes.ApplyAsync(LabOptions.NameOrDefault(parse.GetValue(name)), parse.GetValue(cluster), parse.GetValue(files)!, cancellation);
                return LabOptions.Success;
            }), CancellationToken.None);
        });
        return command;
    }
}
