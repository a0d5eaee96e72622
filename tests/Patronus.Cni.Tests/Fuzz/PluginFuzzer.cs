using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Patronus.Cni.Tests.Binary;
using Patronus.Cni.Tests.Kernel;

namespace Patronus.Cni.Tests.Fuzz;

/// <summary>What a fuzz run saw: counts per verb and per outcome, and every broken promise with the case that broke it.</summary>
public sealed class FuzzReport
{
    public int Seed { get; init; }
    public int Runs { get; set; }
    public int Succeeded { get; set; }
    public int SkippedUnsafe { get; set; }
    public TimeSpan Elapsed { get; set; }
    public SortedDictionary<string, int> Verbs { get; } = new();
    public SortedDictionary<int, int> ErrorCodes { get; } = new();
    public List<string> Findings { get; } = new();

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"seed {Seed}: {Runs} runs in {Elapsed.TotalSeconds:0.0} s ({SkippedUnsafe} generated cases skipped as unsafe for the machine)");
        text.AppendLine($"  verbs: {string.Join(", ", Verbs.Select(v => $"{v.Key} {v.Value}"))}");
        text.AppendLine($"  succeeded: {Succeeded}; errors by code: {string.Join(", ", ErrorCodes.Select(c => $"{c.Key}: {c.Value}"))}");
        text.AppendLine($"  findings: {Findings.Count}");
        foreach (var finding in Findings.Take(50))
            text.AppendLine("  - " + finding.Replace("\n", "\n    "));
        return text.ToString();
    }
}

/// <summary>
/// Runs the published plugin on generated cases in a <see cref="FuzzWorld"/> and checks the promises every run
/// must keep: stdout is a valid result or the spec's error JSON with a code from the spec, nothing on stdout or
/// stderr reads like a stack trace, an exception name or a resource key, no run hangs or forks without bound,
/// and a failed ADD leaves no interface (but a bridge) in the node, nothing in the pods and no address held.
/// Whatever a run leaves is cleaned before the next, so each run starts from the same node.
/// </summary>
public sealed class PluginFuzzer(FuzzWorld world, int seed, TimeSpan perRun)
{
    // SPEC.md "Error": 1-7 and 11 are well known, 50 and 51 belong to STATUS, 100 and up are the plugin's own.
    private static readonly HashSet<int> SpecCodes = [1, 2, 3, 4, 5, 6, 7, 11, 50, 51];

    public FuzzReport Run(int runs, Action<string>? progress = null)
    {
        var report = new FuzzReport { Seed = seed };
        var generator = new FuzzCaseGenerator(seed, world);
        var clock = Stopwatch.StartNew();
        using var cage = new PidsCage(64);
        for (var i = 0; i < runs; i++)
        {
            var fuzzCase = generator.Next(i);
            report.Runs++;
            var verb = fuzzCase.Verb.All(char.IsAsciiLetterUpper) && fuzzCase.Verb.Length > 0 ? fuzzCase.Verb : JsonSerializer.Serialize(fuzzCase.Verb);
            report.Verbs[verb] = report.Verbs.GetValueOrDefault(verb) + 1;
            var outcome = Plugin.Run(fuzzCase.Environment, fuzzCase.Stdin, world.Node.Ns.Name, timeout: perRun, cage: cage);
            var problems = Judge(fuzzCase, outcome, report);
            if (cage.ForksRefused > 0)
                problems.Add($"started more than 64 processes at once ({cage.ForksRefused} forks refused)");
            cage.KillAll();
            problems.AddRange(CleanUp(fuzzCase, outcome));
            if (problems.Count > 0)
            {
                report.Findings.Add($"run {i} ({fuzzCase.Description}): {string.Join("; ", problems)}\n{Shorten(outcome.ToString())}");
                // The cage counts refused forks for its whole life: one finding is enough for them.
                if (cage.ForksRefused > 0)
                    break;
            }

            if (progress is not null && (i + 1) % 100 == 0)
                progress($"{i + 1} runs, {report.Findings.Count} findings");
        }

        report.SkippedUnsafe = generator.Unsafe;
        report.Elapsed = clock.Elapsed;
        return report;
    }

    private List<string> Judge(FuzzCase fuzzCase, Plugin.Outcome outcome, FuzzReport report)
    {
        var problems = new List<string>();
        if (outcome.TimedOut)
        {
            problems.Add($"hung for more than {perRun.TotalSeconds} s");
            return problems;
        }

        if (MessageHygiene.Problem(outcome.Stderr) is { } inStderr)
            problems.Add($"stderr holds {inStderr}");
        if (MessageHygiene.Problem(outcome.Stdout) is { } inStdout)
            problems.Add($"stdout holds {inStdout}");

        JsonElement json = default;
        var parsed = false;
        if (outcome.Stdout.Trim().Length > 0)
        {
            try
            {
                json = JsonDocument.Parse(outcome.Stdout).RootElement.Clone();
                parsed = json.ValueKind == JsonValueKind.Object;
            }
            catch (JsonException)
            {
            }
        }

        if (outcome.ExitCode != 0)
        {
            if (!parsed || !json.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.Number || !code.TryGetInt32(out var n))
            {
                problems.Add("failed without the spec's error JSON on stdout");
                return problems;
            }

            report.ErrorCodes[n] = report.ErrorCodes.GetValueOrDefault(n) + 1;
            if (!SpecCodes.Contains(n) && n < 100)
                problems.Add($"error code {n} is not one the spec defines");
            if (!json.TryGetProperty("msg", out var msg) || msg.ValueKind != JsonValueKind.String || msg.GetString()!.Length == 0)
                problems.Add("the error has no msg");
            // The plugin's last-resort handler: an exception nobody anticipated, which is a bug whatever the input.
            else if (msg.GetString()!.Contains("an unexpected failure", StringComparison.Ordinal))
                problems.Add("an exception no code path anticipated reached the last-resort handler");
            if (!json.TryGetProperty("cniVersion", out var v) || v.ValueKind != JsonValueKind.String)
                problems.Add("the error has no cniVersion");
            return problems;
        }

        report.Succeeded++;
        switch (fuzzCase.Verb)
        {
            case "ADD":
                if (!parsed || !json.TryGetProperty("cniVersion", out _) || !json.TryGetProperty("ips", out var ips) || ips.ValueKind != JsonValueKind.Array)
                    problems.Add("ADD succeeded without a result holding cniVersion and ips");
                // The pod's interface belongs in a pod's namespace; in the node it would take over the node's routes.
                // (A bridge may carry that name: a config can call its bridge "eth0".)
                if (world.Node.LinkNames().Contains(fuzzCase.IfName) && !Bridges().Contains(fuzzCase.IfName))
                    problems.Add($"ADD succeeded and put \"{fuzzCase.IfName}\" in the node's namespace");
                break;
            case "VERSION":
                if (!parsed || !json.TryGetProperty("supportedVersions", out _))
                    problems.Add("VERSION succeeded without supportedVersions");
                break;
            default:
                if (outcome.Stdout.Trim().Length > 0)
                    problems.Add($"{fuzzCase.Verb} succeeded but printed something");
                break;
        }

        return problems;
    }

    /// <summary>
    /// Undoes a successful ADD with DEL (the same case, then the unmutated attachment), checks what a failed ADD
    /// left, then removes anything left so the next run starts clean.
    /// </summary>
    private List<string> CleanUp(FuzzCase fuzzCase, Plugin.Outcome outcome)
    {
        var problems = new List<string>();
        var added = fuzzCase.Verb == "ADD" && outcome.ExitCode == 0;
        if (added)
        {
            var del = Plugin.Run(fuzzCase.Environment.ToDictionary(kv => kv.Key, kv => kv.Key == "CNI_COMMAND" ? "DEL" : kv.Value),
                fuzzCase.Stdin, world.Node.Ns.Name, timeout: perRun);
            if (del.ExitCode != 0)
                problems.Add($"DEL after the successful ADD failed: {Shorten(del.ToString())}");
        }

        var leftovers = Leftovers();
        if (fuzzCase.Verb == "ADD" && leftovers.Count > 0)
            problems.Add((added ? "after ADD and DEL, left " : "the failed ADD left ") + string.Join(", ", leftovers));

        foreach (var link in ExtraNodeLinks(includeBridges: true))
            Shell.Run("ip", "-n", world.Node.Ns.Name, "link", "del", link);
        foreach (var pod in world.Pods)
            foreach (var link in Node.LinkNamesOf(pod).Where(l => l != "lo"))
                Shell.Run("ip", "-n", pod.Name, "link", "del", link);
        foreach (var dir in new[] { world.DataDir, world.SpoolDir })
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        return problems;
    }

    private List<string> Leftovers()
    {
        var left = ExtraNodeLinks(includeBridges: false).Select(l => $"link {l} in the node").ToList();
        foreach (var pod in world.Pods)
            left.AddRange(Node.LinkNamesOf(pod).Where(l => l != "lo").Select(l => $"link {l} in pod {pod.Name}"));
        left.AddRange(world.HeldAddresses().Select(a => $"IPAM entry {a}"));
        return left;
    }

    /// <summary>Links in the node other than lo; bridges are shared by every pod of a network and may stay, like the reference plugin's.</summary>
    private List<string> ExtraNodeLinks(bool includeBridges)
    {
        HashSet<string> bridges = includeBridges ? [] : Bridges();
        return world.Node.LinkNames().Where(l => l != "lo" && !bridges.Contains(l)).ToList();
    }

    private HashSet<string> Bridges() =>
        Shell.Ip("-n", world.Node.Ns.Name, "-o", "link", "show", "type", "bridge")
            .Split('\n').Select(l => l.Split(':', 3)).Where(p => p.Length > 1).Select(p => p[1].Trim().Split('@')[0]).ToHashSet();

    private static string Shorten(string s) => s.Length <= 600 ? s : s[..600] + $"...({s.Length} chars)";
}
