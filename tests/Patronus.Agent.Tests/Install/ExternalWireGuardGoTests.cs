using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Netlink;
using Patronus.Testing;
using Patronus.WireGuard;
using static Patronus.Testing.NetworkNamespace;

namespace Patronus.Agent.Tests.Install;

/// <summary>
/// The gateway's tunnel with wireguard-go started outside the agent (deploy/wireguard.yaml's container): the agent
/// neither starts nor replaces it, says what it waits for, and adopts the device once wireguard-go serves it. Real
/// wireguard-go in a throwaway namespace, started as the container starts it.
/// </summary>
public sealed class ExternalWireGuardGoTests : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _netns;
    private readonly string _device = $"wgx{Guid.NewGuid().ToString("N")[..8]}";
    private readonly string _sockets = Directory.CreateTempSubdirectory("patronus-wgx-").FullName;
    private Process? _wireguardGo;

    public ExternalWireGuardGoTests()
    {
        _netns = _namespaces.Add($"pwgx-{Guid.NewGuid().ToString("N")[..8]}");
        Ip(_netns, "link set lo up");
    }

    [Fact]
    public void External_WaitsWithoutStartingAnything_ThenAdoptsTheDeviceWireGuardGoServes()
    {
        using var ns = NetNs.OpenNamed(_netns);
        var options = new TunnelOptions { Interface = _device, SocketDirectory = _sockets, ListenPort = 51999, ExternalDevice = true };
        using var tunnel = new WireGuardTunnel(options, ns, NullLogger<WireGuardTunnel>.Instance);
        var key = Key.GeneratePrivate();

        // Nothing serves the device yet: the agent says so, and starts nothing (no device, no socket, no process).
        var waiting = Assert.Throws<InvalidOperationException>(() => tunnel.Ensure(key));
        Assert.Contains($"waiting for the WireGuard device {_device}", waiting.Message);
        Assert.Contains(Path.Combine(_sockets, _device + ".sock"), waiting.Message);
        Assert.DoesNotContain(_device, Ip(_netns, "link show"));
        Assert.Empty(Directory.GetFileSystemEntries(_sockets));
        Assert.Equal("", Command.Run("pgrep", ["-f", $"wireguard-go.* {_device}$"]).Stdout.Trim());

        // wireguard-go as the patronus-wireguard container runs it: in the foreground, in the node's namespace.
        _wireguardGo = StartWireGuardGo();
        var socket = Path.Combine(_sockets, _device + ".sock");
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(socket) && deadline.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(50);
        Assert.True(File.Exists(socket), $"wireguard-go did not serve {socket}");

        Assert.False(tunnel.Ensure(key), "the device was created by the agent instead of adopted");
        var device = tunnel.Read();
        Assert.Equal(DeviceType.Userspace, device.Type);
        Assert.Equal(51999, device.ListenPort);
        Assert.Equal(key.PublicKey(), device.PublicKey);
        var link = Ip(_netns, $"link show {_device}");
        Assert.Contains(",UP", link);
        Assert.Contains("mtu 1420", link);
        // Still the same wireguard-go: adopted, not replaced.
        Assert.False(_wireguardGo.HasExited);
        Assert.Equal(_wireguardGo.Id.ToString(), Command.Run("pgrep", ["-f", $"wireguard-go --foreground {_device}$"]).Stdout.Trim());
    }

    private Process StartWireGuardGo()
    {
        // WG_SOCKET_DIR is not read by wireguard-go: its socket folder is fixed, so the test's own folder is bound over
        // /var/run/wireguard in a mount namespace of its own.
        var script = $"mkdir -p /var/run/wireguard && mount --bind {_sockets} /var/run/wireguard && exec wireguard-go --foreground {_device}";
        var start = new ProcessStartInfo("nsenter", [$"--net=/var/run/netns/{_netns}", "unshare", "--mount", "--propagation", "private", "sh", "-c", script])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["LOG_LEVEL"] = "error";
        start.Environment["WG_PROCESS_FOREGROUND"] = "1";
        return Process.Start(start)!;
    }

    public void Dispose()
    {
        if (_wireguardGo is { HasExited: false })
        {
            _wireguardGo.Kill();
            _wireguardGo.WaitForExit();
        }
        _wireguardGo?.Dispose();
        _namespaces.Dispose();
        Directory.Delete(_sockets, recursive: true);
    }
}
