using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Patronus.Netlink;
using Patronus.Testing;
using Patronus.WireGuard.Tests.Keys;

namespace Patronus.WireGuard.Tests.Integration;

/// <summary>
/// Two "gateways" (namespaces) joined by a veth underlay, each running wireguard-go, configured only through
/// <see cref="WireGuardClient"/>; `wg` (which speaks the same UAPI) and real pings check the result.
/// </summary>
public sealed class UserspaceTunnelTests : IDisposable
{
    private const int Port = 51820;

    private readonly OwnedNamespaces _namespaces = new();
    private readonly List<IDisposable> _owned = [];
    private readonly string _a;
    private readonly string _b;
    private readonly NetNs _nsA;
    private readonly RtNetlink _rtA;
    private readonly RtNetlink _rtB;
    private readonly WireGuardGoDaemon _wgA;
    private readonly WireGuardGoDaemon _wgB;
    private readonly CapturingLogger<WireGuardClient> _log = new();
    private readonly WireGuardClient _client;

    public UserspaceTunnelTests()
    {
        try
        {
            _a = _namespaces.Add($"pwga-{Guid.NewGuid().ToString("N")[..8]}");
            _b = _namespaces.Add($"pwgb-{Guid.NewGuid().ToString("N")[..8]}");
            _nsA = Own(NetNs.OpenPath(NetworkNamespace.PathOf(_a)));
            var nsB = Own(NetNs.OpenPath(NetworkNamespace.PathOf(_b)));
            _rtA = Own(RtNetlink.OpenIn(_nsA));
            _rtB = Own(RtNetlink.OpenIn(nsB));
            _rtA.LinkAddVeth("ul0", "ul0", peerNamespace: nsB);
            Underlay(_rtA, "192.168.77.1/24");
            Underlay(_rtB, "192.168.77.2/24");
            _wgA = Own(WireGuardGoDaemon.Start(_a));
            _wgB = Own(WireGuardGoDaemon.Start(_b));
            _client = Own(WireGuardClient.OpenIn(_nsA, new WireGuardClientOptions { SocketDirectory = WireGuardGoDaemon.SocketDirectory }, _log));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _namespaces.Dispose();
    }

    [Fact]
    public void TwoDevices_ConfiguredOverUapi_PingThroughTheTunnel_ReadBackHandshakeAndCounters()
    {
        var keyA = Key.GeneratePrivate();
        var keyB = Key.GeneratePrivate();
        var psk = Key.GeneratePreshared();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        _client.ConfigureDevice(_wgA.Name, Gateway(keyA, keyB.PublicKey(), psk, "192.168.77.2", "10.100.0.2/32", "fd10::2/128"));
        _client.ConfigureDevice(_wgB.Name, Gateway(keyB, keyA.PublicKey(), psk, "192.168.77.1", "10.100.0.1/32", "fd10::1/128"));
        Tunnel(_rtA, _wgA.Name, "10.100.0.1/24", "fd10::1/64");
        Tunnel(_rtB, _wgB.Name, "10.100.0.2/24", "fd10::2/64");

        Assert.Contains("3 received", Shell(_a, "ping -c 3 -i 0.2 -W 3 10.100.0.2"));
        Assert.Contains("1 received", Shell(_a, "ping -6 -c 1 -W 3 fd10::2"));

        var device = _client.Device(_wgA.Name);
        Assert.Equal(DeviceType.Userspace, device.Type);
        Assert.Equal(keyA.PublicKey(), device.PublicKey);
        Assert.Equal(keyA.PublicKey(), device.PrivateKey!.PublicKey());
        Assert.Equal(Port, device.ListenPort);
        var peer = Assert.Single(device.Peers);
        Assert.Equal(keyB.PublicKey(), peer.PublicKey);
        Assert.Equal(psk, peer.PresharedKey);
        Assert.Equal(IPEndPoint.Parse("192.168.77.2:51820"), peer.Endpoint);
        Assert.Equal([IPNetwork.Parse("10.100.0.2/32"), IPNetwork.Parse("fd10::2/128")], peer.AllowedIPs.OrderBy(n => n.ToString()));
        Assert.NotNull(peer.LastHandshakeTime);
        Assert.InRange(peer.LastHandshakeTime!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.True(peer.ReceiveBytes > 4 * 84 && peer.TransmitBytes > 4 * 84, $"rx {peer.ReceiveBytes}, tx {peer.TransmitBytes}");

        // wg(8) reads the same daemon independently: keys, endpoint, handshake and counters agree.
        var dump = Command.Run("wg", ["show", _wgA.Name, "dump"]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var wgPeer = dump[1].Split('\t');
        Assert.Equal(keyA.PublicKey().ToBase64(), dump[0].Split('\t')[1]);
        Assert.Equal(keyB.PublicKey().ToBase64(), wgPeer[0]);
        Assert.Equal("192.168.77.2:51820", wgPeer[2]);
        Assert.Equal(peer.LastHandshakeTime.Value.ToUnixTimeSeconds(), long.Parse(wgPeer[4], CultureInfo.InvariantCulture));
        Assert.True(long.Parse(wgPeer[5], CultureInfo.InvariantCulture) >= peer.ReceiveBytes);

        Assert.Contains(_client.Devices(), d => d.Name == _wgA.Name && d.Peers.Count == 1);
        Assert.Contains(_client.Devices(), d => d.Name == _wgB.Name && d.PublicKey!.Equals(keyB.PublicKey()));
        AssertNoSecretLogged(keyA, keyB, psk);
    }

    [Fact]
    public void ConfigureDevice_PeerSemantics_ReplaceUpdateOnlyRemoveReplaceAllowedIPs()
    {
        var p1 = Key.GeneratePrivate().PublicKey();
        var p2 = Key.GeneratePrivate().PublicKey();
        var p3 = Key.GeneratePrivate().PublicKey();
        var p4 = Key.GeneratePrivate().PublicKey();
        var name = _wgA.Name;
        _client.ConfigureDevice(name, new DeviceConfig
        {
            PrivateKey = Key.GeneratePrivate(),
            FirewallMark = 0x42,
            Peers =
            [
                new PeerConfig { PublicKey = p1, AllowedIPs = [IPNetwork.Parse("10.1.0.0/24")] },
                new PeerConfig { PublicKey = p2, AllowedIPs = [IPNetwork.Parse("10.2.0.0/24")], PersistentKeepaliveInterval = TimeSpan.FromSeconds(25) },
            ],
        });
        _client.ConfigureDevice(name, new DeviceConfig
        {
            Peers =
            [
                new PeerConfig { PublicKey = p1, ReplaceAllowedIPs = true, AllowedIPs = [IPNetwork.Parse("10.11.0.0/24"), IPNetwork.Parse("fd11::/64")] },
                new PeerConfig { PublicKey = p2, Remove = true },
                new PeerConfig { PublicKey = p3, AllowedIPs = [IPNetwork.Parse("10.3.0.0/24")] },
                new PeerConfig { PublicKey = p4, UpdateOnly = true, AllowedIPs = [IPNetwork.Parse("10.4.0.0/24")] },
            ],
        });

        var device = _client.Device(name);
        Assert.Equal(0x42, device.FirewallMark);
        Assert.Equal(new[] { p1, p3 }.Select(k => k.ToBase64()).Order(), device.Peers.Select(p => p.PublicKey.ToBase64()).Order());
        Assert.Equal(
            [IPNetwork.Parse("10.11.0.0/24"), IPNetwork.Parse("fd11::/64")],
            device.Peers.Single(p => p.PublicKey.Equals(p1)).AllowedIPs.OrderBy(n => n.ToString()));
        Assert.Contains("10.11.0.0/24", Command.Run("wg", ["show", name, "allowed-ips"]).Stdout);

        _client.ConfigureDevice(name, new DeviceConfig
        {
            ReplacePeers = true,
            Peers = [new PeerConfig { PublicKey = p2, PersistentKeepaliveInterval = TimeSpan.FromSeconds(25), Endpoint = IPEndPoint.Parse("[fd00::9]:4000") }],
        });

        var replaced = Assert.Single(_client.Device(name).Peers);
        Assert.Equal(p2, replaced.PublicKey);
        Assert.Equal(TimeSpan.FromSeconds(25), replaced.PersistentKeepaliveInterval);
        Assert.Equal(IPEndPoint.Parse("[fd00::9]:4000"), replaced.Endpoint);
        Assert.Null(replaced.LastHandshakeTime);
        Assert.Equal("25", Command.Run("wg", ["show", name, "persistent-keepalive"]).Stdout.Split('\t')[1].Trim());
    }

    [Fact]
    public void ConfigureDevice_PortInUse_RefusedWithErrno_NoKeyInTheMessageOrLog()
    {
        // A UDP socket in A's namespace holds the port wireguard-go is asked to listen on.
        using var holder = _nsA.Run(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Any, 51999));
            return socket;
        });
        var privateKey = Key.GeneratePrivate();

        var error = Assert.Throws<WireGuardException>(() => _client.ConfigureDevice(_wgA.Name, new DeviceConfig { PrivateKey = privateKey, ListenPort = 51999 }));

        Assert.Equal(98, error.Errno); // EADDRINUSE
        Assert.StartsWith($"WireGuard device \"{_wgA.Name}\": configure: the userspace implementation refused it", error.Message);
        KeyTests.AssertNoSecret(error.ToString(), privateKey);
        AssertNoSecretLogged(privateKey);
    }

    [Fact]
    public void Device_DaemonCrashed_StaleSocketIsNotFound_AndLeftOutOfDevices()
    {
        _wgB.Crash();
        Assert.True(File.Exists(_wgB.SocketPath));

        var error = Assert.Throws<WireGuardException>(() => _client.Device(_wgB.Name));

        Assert.True(error.IsNotFound);
        Assert.Contains("the userspace daemon is gone", error.Message);
        Assert.DoesNotContain(_client.Devices(), d => d.Name == _wgB.Name);
        Assert.Contains(_client.Devices(), d => d.Name == _wgA.Name);
        Assert.Contains(_log.Lines, l => l.Contains(_wgB.Name, StringComparison.Ordinal) && l.Contains("daemon is gone", StringComparison.Ordinal));
    }

    private static DeviceConfig Gateway(Key privateKey, Key peer, Key psk, string peerUnderlay, params string[] allowed) => new()
    {
        PrivateKey = privateKey,
        ListenPort = Port,
        ReplacePeers = true,
        Peers =
        [
            new PeerConfig
            {
                PublicKey = peer,
                PresharedKey = psk,
                Endpoint = new IPEndPoint(IPAddress.Parse(peerUnderlay), Port),
                ReplaceAllowedIPs = true,
                AllowedIPs = allowed.Select(IPNetwork.Parse).ToList(),
            },
        ],
    };

    private static void Underlay(RtNetlink rt, string address)
    {
        var link = rt.LinkByName("ul0")!.Index;
        rt.AddrAdd(link, IpPrefix.Parse(address));
        rt.LinkSetUp(link);
    }

    private static void Tunnel(RtNetlink rt, string device, string v4, string v6)
    {
        var link = rt.LinkByName(device)!.Index;
        rt.AddrAdd(link, IpPrefix.Parse(v4));
        rt.AddrAdd(link, IpPrefix.Parse(v6), AddressFlags.NoDad);
        rt.LinkSetUp(link);
    }

    private static string Shell(string netns, string command)
    {
        var result = Command.Run("ip", ["netns", "exec", netns, .. command.Split(' ')]);
        return result.Stdout + result.Stderr;
    }

    private void AssertNoSecretLogged(params Key[] secrets)
    {
        var logged = string.Join("\n", _log.Lines);
        foreach (var secret in secrets)
        {
            KeyTests.AssertNoSecret(logged, secret);
        }
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
