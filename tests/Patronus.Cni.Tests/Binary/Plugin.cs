using System.Diagnostics;
using System.Text.Json;
using Patronus.Testing;

namespace Patronus.Cni.Tests.Binary;

/// <summary>The published NativeAOT binary, run the way a runtime runs it: env, stdin, stdout.</summary>
public static class Plugin
{
    public static string RepoRoot => Checkout.Root;

    public static string Path { get; } = System.IO.Path.Combine(RepoRoot, "artifacts/bin/patronus-cni");

    private static readonly Lazy<string?> StaleReason = new(() =>
    {
        if (!File.Exists(Path))
        {
            return $"{Path} is missing: run ./build.sh (or dotnet publish src/Patronus.Cni -c Release -r linux-x64) first";
        }

        // A test against an old binary proves nothing about the current source.
        var built = File.GetLastWriteTimeUtc(Path);
        var newer = new[] { "src/Patronus.Cni", "src/Patronus.Netlink" }
            .SelectMany(d => Directory.EnumerateFiles(System.IO.Path.Combine(RepoRoot, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && File.GetLastWriteTimeUtc(f) > built)
            .FirstOrDefault();
        return newer is null ? null : $"{Path} is older than {newer}: rebuild it (./build.sh)";
    });


    /// <summary>How long a run may take before it counts as hung: the plugin never waits on anything unbounded.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public sealed record Outcome(int ExitCode, string Stdout, string Stderr, bool TimedOut = false)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

        public int ErrorCode => Json.GetProperty("code").GetInt32();

        public string Message => Json.GetProperty("msg").GetString()!;

        public override string ToString() => $"exit {ExitCode}{(TimedOut ? " (timed out, killed)" : "")}\n{Stdout}\n{Stderr}";
    }

    /// <summary>
    /// Runs the plugin; with <paramref name="nodeNs"/> it runs inside that namespace (as the runtime would on a node).
    /// A run that outlives <paramref name="timeout"/> is killed with everything it started and reported as timed out.
    /// With <paramref name="cage"/> the run and all its descendants live in that pids cgroup.
    /// </summary>
    public static Outcome Run(IReadOnlyDictionary<string, string> env, string stdin, string? nodeNs = null, string? binary = null,
        TimeSpan? timeout = null, PidsCage? cage = null) =>
        Run(env, System.Text.Encoding.UTF8.GetBytes(stdin), nodeNs, binary, timeout, cage);

    public static Outcome Run(IReadOnlyDictionary<string, string> env, byte[] stdin, string? nodeNs = null, string? binary = null,
        TimeSpan? timeout = null, PidsCage? cage = null)
    {
        if (StaleReason.Value is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        var command = new List<string>();
        if (nodeNs is not null)
        {
            command.AddRange(["nsenter", $"--net=/var/run/netns/{nodeNs}"]);
        }

        command.Add(binary ?? Path);
        if (cage is not null)
        {
            // The shell joins the cage and then becomes the command, so nothing it starts runs outside it.
            command.InsertRange(0, ["sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", cage.ProcsFile]);
        }

        var start = new ProcessStartInfo(command[0], command.Skip(1));
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("CNI_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var feed = Task.Run(() =>
        {
            try
            {
                p.StandardInput.BaseStream.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException)
            {
                // The plugin rejected its environment and exited before reading stdin (EPIPE): its stdout says why.
            }
        });
        if (!p.WaitForExit(timeout ?? DefaultTimeout))
        {
            p.Kill(entireProcessTree: true);
            cage?.KillAll();
            p.WaitForExit();
            return new Outcome(-1, Drained(stdout), Drained(stderr), TimedOut: true);
        }

        p.WaitForExit();
        feed.Wait(TimeSpan.FromSeconds(5));
        return new Outcome(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>What a killed run printed, if its pipes closed; its descendants may still hold them open.</summary>
    private static string Drained(Task<string> stream) => stream.Wait(TimeSpan.FromSeconds(5)) ? stream.Result : "";
}
