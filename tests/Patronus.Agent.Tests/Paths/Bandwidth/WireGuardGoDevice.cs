using System.Diagnostics;
using System.Net.Sockets;

namespace Patronus.Agent.Tests.Paths.Bandwidth;

/// <summary>
/// One wireguard-go daemon in the foreground inside a test's namespace (as Patronus.WireGuard.Tests' WireGuardGo):
/// a unique device name, since its UAPI socket lives in the host-wide /var/run/wireguard; dispose kills this daemon
/// by its own process and removes its socket.
/// </summary>
internal sealed class WireGuardGoDevice : IDisposable
{
    public const string SocketDirectory = "/var/run/wireguard";

    private readonly Process _process;

    private WireGuardGoDevice(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    private string SocketPath => Path.Combine(SocketDirectory, Name + ".sock");

    /// <param name="name">The device's name (unique on the machine); a fresh one when null.</param>
    public static WireGuardGoDevice Start(string netns, string? name = null)
    {
        name ??= $"shw{Guid.NewGuid().ToString("N")[..8]}";
        var start = new ProcessStartInfo("ip", ["netns", "exec", netns, "wireguard-go", "-f", name])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var device = new WireGuardGoDevice(name, process);
        try
        {
            var serving = Patronus.Testing.Poll.Until(() =>
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"wireguard-go {name} exited with {process.ExitCode}");
                if (!File.Exists(device.SocketPath))
                    return false;
                try
                {
                    using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    socket.Connect(new UnixDomainSocketEndPoint(device.SocketPath));
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20));
            if (!serving)
                throw new TimeoutException($"wireguard-go {name} did not serve {device.SocketPath}");
            return device;
        }
        catch
        {
            device.Dispose();
            throw;
        }
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
}
