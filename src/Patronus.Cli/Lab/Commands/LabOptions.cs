using System.CommandLine;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.State;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Commands;

/// <summary>What the commands acting on a running lab share: --name, --cluster, exit codes and error reporting.</summary>
internal static class LabOptions
{
    public const int Success = 0;
    public const int BadInput = 1;
    public const int Failed = 3;
    public const int Interrupted = 130;

    public const string ExitCodes =
        "Exit codes: 0 success; 1 bad input (arguments, LAB.yaml, manifests; nothing was changed); 3 the lab could not be " +
        "built or changed, or does not exist; 130 interrupted.";

    public static Option<string> Name() => new("--name", "-n")
    {
        Description = $"The lab's name (default: the lab file's `name`, else {LabNames.DefaultLab}). Every namespace of the lab starts with NAME.",
    };

    public static Option<string> Cluster() => new("--cluster", "-c")
    {
        Description = "The cluster's id; may be left out when the lab has one cluster.",
    };

    public static Option<string[]> Files(string description) => new("--file", "-f")
    {
        Description = description,
        Required = true,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The lab's name, checked: it becomes a directory name and every namespace's prefix, so "../x" must never reach either.</summary>
    /// <exception cref="LabConfigException">Not a lab name.</exception>
    public static string NameOrDefault(string? name)
    {
        name ??= LabNames.DefaultLab;
        if (LabNames.CheckLabName(name) is { } error)
            throw new LabConfigException($"--name: {error}");
        return name;
    }

    /// <summary>Runs a lab command: root only, every known failure as one clear line on stderr, never a stack trace.</summary>
    public static async Task<int> RunAsync(TextWriter stderr, Func<LabStore, Task<int>> action)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            stderr.WriteLine("error: the lab creates network namespaces and must run as root");
            return BadInput;
        }
        try
        {
            return await action(LabStore.Default());
        }
        catch (LabConfigException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("lab: interrupted");
            return Interrupted;
        }
        catch (Exception e) when (e is LabException or NetlinkException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return Failed;
        }
    }
}
