using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Patronus.Testing;

/// <summary>
/// One wireguard-go daemon in the foreground inside a test's network namespace. Its UAPI socket lives in the
/// host-wide /var/run/wireguard, so every device gets a unique name; dispose kills this daemon (by its own
/// process) and removes its socket if a kill left it behind.
/// </summary>
public sealed class WireGuardGoDaemon : IDisposable
{
    public const string SocketDirectory = "/var/run/wireguard";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WireGuardGoDaemon(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public string SocketPath => Path.Combine(SocketDirectory, Name + ".sock");

    public bool HasExited => _process.HasExited;

    /// <param name="name">The device's name (unique on the machine); a fresh one when null.</param>
    public static WireGuardGoDaemon Start(string netns, string? name = null)
    {
        name ??= $"pwg{Guid.NewGuid().ToString("N")[..8]}";
        var start = new ProcessStartInfo("ip", ["netns", "exec", netns, "wireguard-go", "-f", name])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var daemon = new WireGuardGoDaemon(name, process);
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (!Poll.Until(daemon.Serving, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20)))
                throw new TimeoutException($"wireguard-go {name} did not serve {daemon.SocketPath}: {daemon.Output}");
            return daemon;
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: the daemon dies without removing its socket, as after a crash.</summary>
    public void Crash()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process.Dispose();
        File.Delete(SocketPath);
    }

    private bool Serving()
    {
        if (_process.HasExited)
            throw new InvalidOperationException($"wireguard-go {Name} exited with {_process.ExitCode}: {Output}");
        if (!File.Exists(SocketPath))
            return false;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }
}
