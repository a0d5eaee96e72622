using System.Diagnostics;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Support;

/// <summary>The checkout the tests run in, and the published binaries `./build.sh` put in artifacts/bin.</summary>
internal static class Repository
{
    public static string Root => Checkout.Root;

    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    /// <summary>A published binary; the kernel tests drive the real thing, so a missing one is a failure, not a skip.</summary>
    public static string Artifact(string name)
    {
        var path = System.IO.Path.Combine(Root, "artifacts", "bin", name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run ./build.sh first (./test.sh does)");
        return path;
    }

    public static (int Code, string Output, string Error) Run(string file, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {timeout}");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
