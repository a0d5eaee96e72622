using System.Diagnostics;

namespace Patronus.Testing;

/// <summary>What a finished command printed, each stream kept apart so callers choose what they show.</summary>
public readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs a program to completion with both streams captured. Test-side only: fixtures shell out to
/// iproute2 and nft to set up and check independently of the code under test.
/// </summary>
public static class Command
{
    public static CommandResult Run(string file, string arguments) => Run(new ProcessStartInfo(file, arguments));

    public static CommandResult Run(string file, IEnumerable<string> arguments) => Run(new ProcessStartInfo(file, arguments));

    private static CommandResult Run(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start)!;
        // Both streams drain at once: a full pipe on either would block the child.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return new CommandResult(process.ExitCode, stdout.Result, stderr);
    }
}
