using System.CommandLine;
using Patronus.Cli.Lab.Running;

namespace Patronus.Cli.Lab.Commands;

/// <summary><c>patronus lab down [--name NAME]</c>: remove a lab, whatever state it is in.</summary>
internal static class LabDownCommand
{
    public static Command Create()
    {
        var name = LabOptions.Name();
        var command = new Command("down",
            "Remove a lab: stop its build if one is running, kill its agents and any process in its namespaces, delete every " +
            "namespace named after it and its state. Works after a crash of anything (a missing lab is not an error).\n" + LabOptions.ExitCodes);
        command.Options.Add(name);
        command.SetAction((parse, cancellation) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            return Task.Run(() => LabOptions.RunAsync(stderr, store =>
            {
                var lab = LabOptions.NameOrDefault(parse.GetValue(name));
                if (!LabTeardown.Down(store, lab, stderr))
                    stderr.WriteLine($"lab {lab}: nothing to remove");
                return Task.FromResult(LabOptions.Success);
            }), CancellationToken.None);
        });
        return command;
    }
}
