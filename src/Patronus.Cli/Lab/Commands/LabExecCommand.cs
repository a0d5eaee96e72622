using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using Patronus.Cli.Lab.Running;
using Patronus.Cli.Lab.State;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Commands;

/// <summary><c>patronus lab exec POD [--name NAME] -- CMD...</c>: run a command in a pod's network namespace.</summary>
internal static class LabExecCommand
{
    public const int NotFound = 127;

    public static Command Create()
    {
        var pod = new Argument<string>("pod") { Description = "NAMESPACE/NAME, or NAME when only one pod of the lab has it." };
        var commandLine = new Argument<string[]>("command") { Description = "The command and its arguments (after --).", Arity = ArgumentArity.OneOrMore };
        var name = LabOptions.Name();
        var cluster = LabOptions.Cluster();
        var command = new Command("exec",
            "Run a command in a pod's network namespace (like `ip netns exec`), with this terminal's input and output. " +
            "Exits with the command's exit code (127 when it cannot be started; 1 or 3 for the lab's own errors, as below).\n" + LabOptions.ExitCodes);
        command.Arguments.Add(pod);
        command.Arguments.Add(commandLine);
        command.Options.Add(name);
        command.Options.Add(cluster);
        command.SetAction((parse, cancellation) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            return LabOptions.RunAsync(stderr, async store =>
            {
                var record = LabAccess.LoadUp(store, LabOptions.NameOrDefault(parse.GetValue(name)));
                var target = Find(record, parse.GetValue(pod)!, parse.GetValue(cluster));
                var argv = parse.GetValue(commandLine)!;
                var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
                foreach (var argument in argv.Skip(1))
                    start.ArgumentList.Add(argument);
                using var ns = NetNs.OpenNamed(target.Netns);
                Process process;
                try
                {
                    // A child is born in the network namespace of the thread that starts it.
                    process = ns.Run(() => Process.Start(start)) ?? throw new LabException($"cannot start {argv[0]}");
                }
                catch (Win32Exception e)
                {
                    stderr.WriteLine($"error: cannot run {argv[0]} in pod {target.Id}: {e.Message}");
                    return NotFound;
                }
                using (process)
                {
                    await process.WaitForExitAsync(CancellationToken.None);
                    return process.ExitCode;
                }
            });
        });
        return command;
    }

    /// <exception cref="LabException">No such pod, or a bare name that more than one pod has.</exception>
    public static PodRecord Find(LabRecord record, string text, string? cluster)
    {
        var pods = record.Pods.Where(p => cluster is null || p.Cluster == cluster).ToList();
        var matches = text.Contains('/')
            ? pods.Where(p => p.Id == text).ToList()
            : pods.Where(p => p.Name == text).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new LabException($"lab {record.Name} has no pod {text}{(cluster is null ? "" : $" in cluster {cluster}")} (`patronus lab status --name {record.Name}` lists them)"),
            _ => throw new LabException($"pod name {text} is ambiguous in lab {record.Name}: {string.Join(", ", matches.Select(m => $"{m.Cluster}: {m.Id}"))}; give NAMESPACE/NAME or --cluster"),
        };
    }
}
