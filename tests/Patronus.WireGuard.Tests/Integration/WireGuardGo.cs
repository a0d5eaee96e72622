using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Patronus.WireGuard.Tests.Integration;

/// <summary>
/// One wireguard-go daemon in the foreground inside a test's network namespace. Its UAPI socket lives in the
/// host-wide /var/run/wireguard, so every device gets a unique name; dispose kills this daemon (by its own
/// process) and removes its socket if a kill left it behind.
/// </summary>
internal sealed class WireGuardGo : IDisposable
{
    public const string SocketDirectory = "/var/run/wireguard";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WireGuardGo(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public string SocketPath => Path.Combine(SocketDirectory, Name + ".sock");

    public static WireGuardGo Start(string netns)
    {
        var name = $"pwg{Guid.NewGuid().ToString("N")[..8]}";
        var start = new ProcessStartInfo("ip", ["netns", "exec", netns, "wireguard-go", "-f", name])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var daemon = new WireGuardGo(name, process);
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            daemon.WaitUntilServing();
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

    private void WaitUntilServing()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"wireguard-go {Name} exited with {_process.ExitCode}: {Output}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
                    return;
                }
                catch (SocketException)
                {
                }
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"wireguard-go {Name} did not serve {SocketPath}: {Output}");
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
