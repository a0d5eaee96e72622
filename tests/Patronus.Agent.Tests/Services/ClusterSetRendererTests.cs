using System.Net;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Tests.Services;

/// <summary>The ClusterSetIP nft script, pinned: its shape is what the kernel tests exercise.</summary>
public sealed class ClusterSetRendererTests
{
    private static readonly ServiceKey Web = new("shop", "web");

    private static ClusterSetVip Vip(string address, int port, SessionAffinity affinity, params VipBackend[] backends) =>
        new(Web, IPAddress.Parse(address), "TCP", port, affinity, affinity == SessionAffinity.ClientIP ? 600 : 0, backends);

    private static readonly VipBackend A1 = new("a", IPAddress.Parse("10.1.0.1"), 8080);
    private static readonly VipBackend B1 = new("b", IPAddress.Parse("10.2.0.1"), 9090);

    [Fact]
    public void FirstRender_ReplacesTheTable_WithOneChainPerVipAndBackend()
    {
        var vip = Vip("10.112.0.7", 80, SessionAffinity.None, A1, B1);
        var script = ClusterSetRenderer.Render([vip], previous: null);
        var v = ClusterSetRenderer.VipChain(vip);
        var a = ClusterSetRenderer.BackendChain(vip, A1);
        var b = ClusterSetRenderer.BackendChain(vip, B1);

        Assert.StartsWith("table inet patronus-clusterset\ndelete table inet patronus-clusterset\ntable inet patronus-clusterset {\n", script);
        Assert.Contains("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr . meta l4proto . th dport vmap @vips4\n\t\tip6 daddr . meta l4proto . th dport vmap @vips6\n\t}\n", script);
        Assert.Contains("\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n", script);
        Assert.Contains($"\tchain {a} {{\n\t\tcomment \"shop/web a 10.1.0.1:8080\"\n\t\tmeta l4proto tcp dnat ip to 10.1.0.1:8080\n\t}}\n", script);
        Assert.Contains($"\tchain {v} {{\n\t\tcomment \"shop/web 10.112.0.7:80/TCP\"\n\t\tnumgen random mod 2 vmap {{ 0 : goto {a}, 1 : goto {b} }}\n\t}}\n", script);
        Assert.EndsWith($"}}\nadd element inet patronus-clusterset vips4 {{ 10.112.0.7 . tcp . 80 : goto {v} }}\n", script);
        Assert.DoesNotContain("flush", script);
    }

    [Fact]
    public void ClientIpAffinity_AddsAPerBackendClientSet_CheckedBeforeBalancing()
    {
        var vip = Vip("fd00:112::7", 80, SessionAffinity.ClientIP, A1 with { Address = IPAddress.Parse("fd00:1::1") });
        var backend = vip.Backends[0];
        var set = ClusterSetRenderer.AffinitySet(vip, backend);
        var chain = ClusterSetRenderer.BackendChain(vip, backend);

        var script = ClusterSetRenderer.Render([vip], previous: null);

        Assert.Contains($"\tset {set} {{\n\t\ttype ipv6_addr\n\t\tflags dynamic,timeout\n\t\ttimeout 600s\n\t}}\n", script);
        Assert.Contains($"\t\tupdate @{set} {{ ip6 saddr }}\n\t\tmeta l4proto tcp dnat ip6 to [fd00:1::1]:8080\n", script);
        Assert.Contains($"\t\tip6 saddr @{set} goto {chain}\n\t\tgoto {chain}\n", script);
        Assert.Contains($"add element inet patronus-clusterset vips6 {{ fd00:112::7 . tcp . 80 : goto {ClusterSetRenderer.VipChain(vip)} }}", script);
    }

    [Fact]
    public void VipWithoutBackends_GoesToTheRejectSet()
    {
        var script = ClusterSetRenderer.Render([Vip("10.112.0.7", 80, SessionAffinity.None)], previous: null);

        Assert.Contains("add element inet patronus-clusterset empty4 { 10.112.0.7 . tcp . 80 }", script);
        Assert.Contains("\t\tip daddr . meta l4proto . th dport @empty4 reject\n", script);
        Assert.DoesNotContain("vip-", script);
    }

    [Fact]
    public void LaterRender_FlushesRulesAndMaps_KeepsSets_AndDeletesWhatIsGone()
    {
        var before = Vip("10.112.0.7", 80, SessionAffinity.ClientIP, A1, B1);
        var after = Vip("10.112.0.7", 80, SessionAffinity.ClientIP, B1);

        var script = ClusterSetRenderer.Render([after], previous: [before]);

        Assert.StartsWith("table inet patronus-clusterset\nflush table inet patronus-clusterset\n", script);
        Assert.DoesNotContain("delete table", script);
        foreach (var map in new[] { "map inet patronus-clusterset vips4", "map inet patronus-clusterset vips6", "set inet patronus-clusterset empty4", "set inet patronus-clusterset empty6" })
            Assert.Contains($"flush {map}\n", script);
        Assert.EndsWith($"delete chain inet patronus-clusterset {ClusterSetRenderer.BackendChain(before, A1)}\ndelete set inet patronus-clusterset {ClusterSetRenderer.AffinitySet(before, A1)}\n", script);
        // b's affinity set is declared again (add semantics keep its clients) and not deleted.
        Assert.Contains($"\tset {ClusterSetRenderer.AffinitySet(after, B1)} {{", script);
        Assert.Equal(ClusterSetRenderer.AffinitySet(before, B1), ClusterSetRenderer.AffinitySet(after, B1));
    }

    [Fact]
    public void Names_AreStableAcrossRenders_AndDifferPerVipPortAndBackend()
    {
        var vip = Vip("10.112.0.7", 80, SessionAffinity.None, A1);
        Assert.Equal(ClusterSetRenderer.VipChain(vip), ClusterSetRenderer.VipChain(Vip("10.112.0.7", 80, SessionAffinity.ClientIP, B1)));
        Assert.NotEqual(ClusterSetRenderer.VipChain(vip), ClusterSetRenderer.VipChain(Vip("10.112.0.7", 81, SessionAffinity.None, A1)));
        Assert.NotEqual(ClusterSetRenderer.BackendChain(vip, A1), ClusterSetRenderer.BackendChain(vip, B1));
        // A new timeout is a new set: a set's timeout cannot change in place.
        Assert.NotEqual(ClusterSetRenderer.AffinitySet(vip with { AffinityTimeoutSeconds = 600 }, A1), ClusterSetRenderer.AffinitySet(vip with { AffinityTimeoutSeconds = 60 }, A1));
    }

    [Fact]
    public void TwoEntriesForOneVipPort_AreRefused()
    {
        var vip = Vip("10.112.0.7", 80, SessionAffinity.None, A1);
        Assert.Throws<ArgumentException>(() => ClusterSetRenderer.Render([vip, vip with { Backends = [B1] }], previous: null));
    }
}
