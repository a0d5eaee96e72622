using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Netlink;
using Patronus.Testing;
using Patronus.WireGuard;
using static Patronus.Testing.NetworkNamespace;

namespace Patronus.Agent.Tests.Mesh;

/// <summary>
/// What a key rotation falls back on when the handshake it needs was lost: WireGuard itself would try again only after
/// REKEY_TIMEOUT (5 s); a peer replaced by itself initiates at once. Real wireguard-go in two throwaway namespaces.
/// </summary>
public sealed class HandshakeRestartTests : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly string _a;
    private readonly string _b;

    public HandshakeRestartTests()
    {
        _a = _namespaces.Add($"phr-{_id}-a");
        _b = _namespaces.Add($"phr-{_id}-b");
        foreach (var ns in new[] { _a, _b })
            Ip(ns, "link set lo up");
        Ip(_a, $"link add hr{_id}a type veth peer name hr{_id}b netns {_b}");
        Ip(_a, $"addr add 10.99.0.1/24 dev hr{_id}a");
        Ip(_a, $"link set hr{_id}a up");
        Ip(_b, $"addr add 10.99.0.2/24 dev hr{_id}b");
        Ip(_b, $"link set hr{_id}b up");
    }

    [Fact]
    public void AStalledPeer_ReplacedByItself_HandshakesAtOnce_InsteadOfAfterWireGuardsRetry()
    {
        using var nsA = NetNs.OpenNamed(_a);
        using var nsB = NetNs.OpenNamed(_b);
        using var a = new WireGuardTunnel(new TunnelOptions { Interface = $"wgh{_id}a", ListenPort = 51901 }, nsA, NullLogger<WireGuardTunnel>.Instance);
        using var b = new WireGuardTunnel(new TunnelOptions { Interface = $"wgh{_id}b", ListenPort = 51902 }, nsB, NullLogger<WireGuardTunnel>.Instance);
        var keyA = Key.GeneratePrivate();
        var keyB = Key.GeneratePrivate();
        try
        {
            a.Ensure(keyA);
            b.Ensure(keyB);
            // B drops A's first initiation, as a member drops one made with a key it has not heard of yet.
            In(_b, "nft", "add table inet hr; add chain inet hr in { type filter hook input priority 0; }; add rule inet hr in udp dport 51902 drop");
            // B has no endpoint for A: only A can start a handshake (its keepalive starts one as soon as it is set).
            In(_b, "wg", "set", b.Interface, "peer", keyA.PublicKey().ToString(), "allowed-ips", "10.98.0.1/32");
            In(_a, "wg", "set", a.Interface, "peer", keyB.PublicKey().ToString(), "endpoint", "10.99.0.2:51902", "persistent-keepalive", "25", "allowed-ips", "10.98.0.2/32");
            Thread.Sleep(500);
            In(_b, "nft", "delete table inet hr");

            // The way is open again, but A's initiation was lost and its next one is seconds away.
            Thread.Sleep(700);
            Assert.Null(Assert.Single(a.Read().Peers).LastHandshakeTime);

            Assert.Equal(1, a.RestartHandshakes(peer => peer.LastHandshakeTime is null));
            Assert.True(Poll.Until(() => a.Read().Peers.Single().LastHandshakeTime is not null, TimeSpan.FromSeconds(2.5)),
                "no handshake 2.5 s after the peer was replaced (WireGuard's own retry comes 5 s after the lost initiation)");
            // The same peer as before: endpoint, keepalive and allowed IPs kept.
            var peer = Assert.Single(a.Read().Peers);
            Assert.Equal(("10.99.0.2:51902", TimeSpan.FromSeconds(25), "10.98.0.2/32"), (peer.Endpoint?.ToString(), peer.PersistentKeepaliveInterval, string.Join(",", peer.AllowedIPs)));
            Assert.Equal(0, a.RestartHandshakes(p => p.LastHandshakeTime is null));
        }
        finally
        {
            a.Remove();
            b.Remove();
        }
    }

    private static void In(string ns, params string[] command)
    {
        var result = Command.Run("ip", ["netns", "exec", ns, .. command]);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', command)}: {result.Stderr}");
    }

    public void Dispose() => _namespaces.Dispose();
}
