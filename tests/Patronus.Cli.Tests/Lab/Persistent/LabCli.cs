using System.Diagnostics;
using System.Text.Json.Nodes;
using Patronus.Cli.Tests.Support;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// The published `patronus lab` as a user runs it, with the labs' state kept in a folder of the test's own
/// (PATRONUS_LAB_DIR), and the independent checks a test makes of what a lab left on the machine.
/// </summary>
internal sealed class LabCli : IDisposable
{
    public static readonly TimeSpan Slow = TimeSpan.FromMinutes(5);

    public LabCli()
    {
        // Short: the agents' unix socket paths live under it.
        StateRoot = Path.Combine("/tmp", $"plt-{Guid.NewGuid().ToString("N")[..8]}");
    }

    public string StateRoot { get; }

    /// <summary>A lab name no other test (or helper running tests at the same time) uses.</summary>
    public static string NewName() => $"t{Guid.NewGuid().ToString("N")[..7]}";

    public (int Code, string Output, string Error) Run(params string[] arguments) => Run(Slow, arguments);

    public (int Code, string Output, string Error) Run(TimeSpan timeout, params string[] arguments) =>
        Repository.Run(Repository.Artifact("patronus"), ["lab", .. arguments], timeout, new Dictionary<string, string> { ["PATRONUS_LAB_DIR"] = StateRoot });

    /// <summary>Runs a lab command that must succeed; its stderr is in the failure message.</summary>
    public string Must(params string[] arguments)
    {
        var (code, output, error) = Run(arguments);
        Assert.True(code == 0, $"patronus lab {string.Join(' ', arguments)} failed ({code}):\n{error}\n{output}");
        return output;
    }

    public Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(Repository.Artifact("patronus")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "lab" }.Concat(arguments))
            start.ArgumentList.Add(argument);
        start.Environment["PATRONUS_LAB_DIR"] = StateRoot;
        return Process.Start(start)!;
    }

    /// <summary>`patronus mesh ...`: its standard output and error.</summary>
    public string Mesh(params string[] arguments)
    {
        var result = Command.Run(Repository.Artifact("patronus"), ["mesh", .. arguments]);
        return result.Stdout + result.Stderr;
    }

    /// <summary>A command left running in a namespace (a server); ended when disposed.</summary>
    public static BackgroundCommand StartInNamespace(string netns, params string[] command)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "netns", "exec", netns }.Concat(command))
            start.ArgumentList.Add(argument);
        return new BackgroundCommand(Process.Start(start)!);
    }

    public JsonNode Status(string lab) => JsonNode.Parse(Must("status", "--name", lab, "-o", "json"))!;

    public string LabDirectory(string lab) => Path.Combine(StateRoot, lab);

    /// <summary>The lab's network namespaces, as iproute2 lists them.</summary>
    public static List<string> Namespaces(string lab)
    {
        var listed = Command.Run("ip", ["netns", "list"]);
        return listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')[0])
            .Where(name => name.StartsWith(lab + ".", StringComparison.Ordinal))
            .ToList();
    }

    /// <summary>Processes whose command line mentions <paramref name="text"/> (every agent of a lab names files in its directory).</summary>
    public static List<int> ProcessesMentioning(string text)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                var state = File.ReadAllText(Path.Combine(directory, "stat"));
                var zombie = state[(state.LastIndexOf(')') + 2)..].StartsWith('Z');
                if (!zombie && commandLine.Contains(text, StringComparison.Ordinal))
                    found.Add(pid);
            }
            catch (IOException)
            {
            }
        }
        return found;
    }

    /// <summary>Asserts that nothing of the lab is left: no namespace, no process, no state.</summary>
    public void AssertGone(string lab)
    {
        Assert.Empty(Namespaces(lab));
        Assert.Empty(ProcessesMentioning(LabDirectory(lab) + "/"));
        Assert.False(Directory.Exists(LabDirectory(lab)), $"{LabDirectory(lab)} is still there");
    }

    /// <summary>Runs a command inside a network namespace with iproute2, independently of the lab's own exec.</summary>
    public static CommandResult InNamespace(string netns, params string[] command) => Command.Run("ip", ["netns", "exec", netns, .. command]);

    public void Dispose()
    {
        foreach (var lab in Directory.Exists(StateRoot) ? Directory.GetDirectories(StateRoot) : [])
            Run(TimeSpan.FromMinutes(2), "down", "--name", Path.GetFileName(lab));
        if (Directory.Exists(StateRoot))
            Directory.Delete(StateRoot, recursive: true);
    }
}

/// <summary>A process a test started and must end: killed (with its children) when disposed.</summary>
public sealed class BackgroundCommand(Process process) : IDisposable
{
    public Process Process => process;

    public void Dispose()
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit(5000);
        process.Dispose();
    }
}
