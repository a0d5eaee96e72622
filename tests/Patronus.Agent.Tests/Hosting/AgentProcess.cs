using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>
/// The published agent (artifacts/bin/patronus-agent) as its own process, started through a shell so a test
/// can set its umask and descriptor limit; its log lines are collected, its metrics read over HTTP.
/// </summary>
public sealed partial class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Task _collecting;

    private AgentProcess(Process process, int metricsPort)
    {
        _process = process;
        MetricsUri = new Uri($"http://127.0.0.1:{metricsPort}");
        _collecting = Task.WhenAll(Task.Run(() => Collect(process.StandardOutput)), Task.Run(() => Collect(process.StandardError)));
    }

    public Uri MetricsUri { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public static string Binary
    {
        get
        {
            var path = Path.Combine(Environment.GetEnvironmentVariable("PATRONUS_ARTIFACTS") ?? Checkout.PathOf("artifacts/bin"), "patronus-agent");
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path} is missing: run ./build.sh first (./test.sh does)");
            return path;
        }
    }

    /// <summary>Starts the agent with <paramref name="arguments"/> plus a free metrics port; <paramref name="shellPrefix"/> runs first (umask, ulimit).</summary>
    public static AgentProcess Start(IEnumerable<string> arguments, string shellPrefix = "")
    {
        var port = FreePort();
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(shellPrefix + " exec \"$0\" \"$@\"");
        start.ArgumentList.Add(Binary);
        foreach (var argument in arguments.Concat(["--metrics-address", $"127.0.0.1:{port}"]))
            start.ArgumentList.Add(argument);
        return new AgentProcess(Process.Start(start)!, port);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task Collect(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
            _lines.Enqueue(line);
    }

    public async Task<HttpStatusCode?> StatusOf(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return (await http.GetAsync(new Uri(MetricsUri, path))).StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public async Task WaitReadyAsync(TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        while (await StatusOf("/readyz") != HttpStatusCode.OK)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"patronus-agent exited with code {_process.ExitCode}: {string.Join('\n', Lines.TakeLast(10))}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"patronus-agent not ready in time: {string.Join('\n', Lines.TakeLast(10))}");
            await Task.Delay(100);
        }
    }

    public async Task<string> MetricsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri(MetricsUri, "/metrics"));
    }

    /// <summary>One sample of the Prometheus text, e.g. <c>patronus_agent_errors_total{component="socket"}</c>; -1 when absent.</summary>
    public static double Sample(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " ([-0-9.e+]+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>Resident memory from /proc, in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:"));
        return long.Parse(Digits().Match(line).Value) * 1024;
    }

    /// <summary>SIGTERM, as systemd or kubelet stop it; the exit code, or null if it did not stop within the timeout.</summary>
    public int? Terminate(TimeSpan timeout) => Signal("TERM", timeout);

    /// <summary>SIGINT, as Ctrl-C in a terminal stops it; the exit code, or null if it did not stop within the timeout.</summary>
    public int? Interrupt(TimeSpan timeout) => Signal("INT", timeout);

    private int? Signal(string signal, TimeSpan timeout)
    {
        if (!_process.HasExited)
            Command.Run("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (!_process.WaitForExit(timeout))
            return null;
        // What it wrote before exiting is read before its lines are looked at: up to the end of both pipes, or for at
        // most 5 s (a child it left running, such as wireguard-go, may hold them open).
        _collecting.Wait(TimeSpan.FromSeconds(5));
        return _process.ExitCode;
    }

    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
