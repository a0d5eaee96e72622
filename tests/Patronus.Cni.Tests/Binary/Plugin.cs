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


    public sealed record Outcome(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

        public int ErrorCode => Json.GetProperty("code").GetInt32();

        public string Message => Json.GetProperty("msg").GetString()!;

        public override string ToString() => $"exit {ExitCode}\n{Stdout}\n{Stderr}";
    }

    /// <summary>Runs the plugin; with <paramref name="nodeNs"/> it runs inside that namespace (as the runtime would on a node).</summary>
    public static Outcome Run(IReadOnlyDictionary<string, string> env, string stdin, string? nodeNs = null, string? binary = null)
    {
        if (StaleReason.Value is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        var start = nodeNs is null
            ? new ProcessStartInfo(binary ?? Path)
            : new ProcessStartInfo("nsenter", [$"--net=/var/run/netns/{nodeNs}", binary ?? Path]);
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
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        catch (IOException)
        {
            // The plugin rejected its environment and exited before reading stdin (EPIPE): its stdout says why.
        }
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Outcome(p.ExitCode, stdout, stderr.Result);
    }
}
