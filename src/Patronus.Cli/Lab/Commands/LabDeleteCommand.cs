using System.CommandLine;
using Patronus.Cli.Lab.Running;

namespace Patronus.Cli.Lab.Commands;

/// <summary><c>patronus lab delete -f MANIFESTS [--name NAME] [--cluster ID]</c>: remove objects from a running lab's cluster.</summary>
internal static class LabDeleteCommand
{
    public static Command Create()
    {
        var files = LabOptions.Files("YAML or JSON manifests (or a folder of them) naming the objects to delete; repeatable.");
        var name = LabOptions.Name();
        var cluster = LabOptions.Cluster();
        var command = new Command("delete",
            "Delete objects from a running lab's cluster, as `kubectl delete -f` would: pods are unwired by the real plugin (DEL) and " +
            "their namespaces removed; deleting a Namespace deletes what is in it. Returns once the agents are in step.\n" + LabOptions.ExitCodes);
        command.Options.Add(files);
        command.Options.Add(name);
        command.Options.Add(cluster);
        command.SetAction((parse, cancellation) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            return Task.Run(() => LabOptions.RunAsync(stderr, async store =>
            {
                var changes = new LabChanges(store, LabBinaries.Locate(), parse.InvocationConfiguration.Output);
                await changes.DeleteAsync(LabOptions.NameOrDefault(parse.GetValue(name)), parse.GetValue(cluster), parse.GetValue(files)!, cancellation);
                return LabOptions.Success;
            }), CancellationToken.None);
        });
        return command;
    }
}
