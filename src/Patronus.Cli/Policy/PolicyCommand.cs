using System.CommandLine;
using Spectre.Console;

namespace Patronus.Cli.Policy;

/// <summary><c>patronus policy</c>: NetworkPolicy analysis of manifest files, offline.</summary>
internal static class PolicyCommand
{
    public const int Success = 0;
    public const int UsageError = 1;
    public const int PartialInput = 2;

    public const string ExitCodes =
        "Exit codes: 0 success; 1 bad arguments, a missing file or a pod that is not in the files (nothing computed); " +
        "2 some objects or documents were rejected (reported on stderr) and the result uses the valid rest.";

    public static Command Create()
    {
        var command = new Command("policy", "Analyse NetworkPolicy offline, from manifests (kubectl get -o yaml).");
        command.Subcommands.Add(ReachCommand.Create());
        command.Subcommands.Add(ExplainCommand.Create());
        return command;
    }

    public static Option<string[]> FilesOption() => new("--file", "-f")
    {
        Description = "YAML or JSON file (or a directory of them) of Namespaces, Pods and NetworkPolicies, as kubectl get -o yaml prints them; repeatable.",
        Required = true,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Files that do not exist are a usage error: nothing is computed from a mistyped path.</summary>
    public static bool FilesExist(string[] files, TextWriter error)
    {
        var missing = files.Where(f => !File.Exists(f) && !Directory.Exists(f)).ToList();
        foreach (var file in missing)
            error.WriteLine($"error: --file: {file} does not exist");
        return missing.Count == 0;
    }

    /// <summary>
    /// A Spectre console on the invocation's writer. Colours only when that writer is the terminal (and
    /// NO_COLOR is unset): Spectre's own detection looks at the environment, not at where the text goes.
    /// </summary>
    public static IAnsiConsole Console(TextWriter writer)
    {
        var terminal = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected &&
            string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        // Text going to a file or a pipe has no width to wrap at.
        if (!ReferenceEquals(writer, System.Console.Out) || System.Console.IsOutputRedirected)
            console.Profile.Width = 400;
        return console;
    }
}
