using System.Net;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Agent.Paths.Steering;
using Patronus.Agent.Routes;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Services.Model;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Datapath.Nftables;

/// <summary>
/// How an agent table is read back from the kernel and replaced keeping its hooks: the listing's format pinned, the
/// replacement's opening pinned, and every table the agent owns replaced in a real kernel with its hooked chains kept.
/// </summary>
public sealed class KernelTableTests
{
    // `nft -j list table inet sample` from nftables 1.0.6 (this machine's libnftables), for a table of one counter, one
    // interval set, one verdict map, a regular chain and two hooked chains. Rules name a counter inside their
    // expressions: only top-level objects are the table's.
    private const string Listing = """
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "sample", "handle": 1}}, {"counter": {"family": "inet", "name": "drop_a", "table": "sample", "handle": 4, "comment": "team/p ingress", "packets": 3, "bytes": 180}}, {"set": {"family": "inet", "name": "peers", "table": "sample", "type": "ipv4_addr", "handle": 5, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}]}}, {"map": {"family": "inet", "name": "ingress_v4", "table": "sample", "type": "ipv4_addr", "handle": 6, "map": "verdict"}}, {"chain": {"family": "inet", "table": "sample", "name": "ep_in", "handle": 1}}, {"chain": {"family": "inet", "table": "sample", "name": "forward", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}, {"chain": {"family": "inet", "table": "sample", "name": "pre", "handle": 3, "type": "filter", "hook": "prerouting", "prio": -150, "policy": "accept"}}, {"rule": {"family": "inet", "table": "sample", "chain": "ep_in", "handle": 7, "expr": [{"counter": "drop_a"}, {"drop": null}]}}, {"rule": {"family": "inet", "table": "sample", "chain": "forward", "handle": 8, "expr": [{"vmap": {"key": {"payload": {"protocol": "ip", "field": "daddr"}}, "data": "@ingress_v4"}}]}}]}
        """;

    private static readonly KernelChain[] SampleHooks =
    [
        new("forward", "filter", "forward", 0, "accept"),
        new("pre", "filter", "prerouting", -150, "accept"),
    ];

    // Everything of the sample but its set, as a declaration that declares them again would name them.
    private static readonly TableObjects SampleKept = new(new HashSet<string> { "ep_in" }, new HashSet<string> { "ingress_v4" }, new HashSet<string> { "drop_a" });

    [Fact]
    public void Parse_ReadsEveryNamedObject_AndTheHooksOfBaseChains()
    {
        var table = KernelTable.Parse(Listing);

        Assert.Equal([new KernelChain("ep_in"), .. SampleHooks], table.Chains);
        Assert.Equal(["peers"], table.Sets);
        Assert.Equal(["ingress_v4"], table.Maps);
        Assert.Equal([new KernelCounter("drop_a", "team/p ingress", 3, 180)], table.Counters);
    }

    [Fact]
    public void Replacement_OverATableHookedAsExpected_FlushesRules_ThenDeletesEveryObjectButTheHooks()
    {
        Assert.Equal(
            "flush table inet sample\n" +
            "delete map inet sample ingress_v4\n" +
            "delete chain inet sample ep_in\n" +
            "delete set inet sample peers\n" +
            "delete counter inet sample drop_a\n",
            KernelTable.Replacement("inet sample", SampleHooks, KernelTable.Parse(Listing)));
    }

    [Fact]
    public void Replacement_KeepsTheChainsMapsAndCountersDeclaredAgain_EmptyingTheMaps_AndStillMakesSetsAgain()
    {
        Assert.Equal(
            "flush table inet sample\n" +
            "flush map inet sample ingress_v4\n" +
            "delete set inet sample peers\n",
            KernelTable.Replacement("inet sample", SampleHooks, KernelTable.Parse(Listing), SampleKept));
    }

    [Fact]
    public void Replacement_WithNoTable_MakesIt()
    {
        Assert.Equal("table inet sample\ndelete table inet sample\n", KernelTable.Replacement("inet sample", SampleHooks, existing: null));
    }

    private static readonly Dictionary<string, KernelChain[]> Foreign = new()
    {
        ["another priority"] = [SampleHooks[0], SampleHooks[1] with { Priority = -100 }],
        ["a drop policy"] = [SampleHooks[0] with { Policy = "drop" }, SampleHooks[1]],
        ["another type"] = [SampleHooks[0], SampleHooks[1] with { Type = "route" }],
        ["a hook we do not use"] = [.. SampleHooks, new("output", "filter", "output", 0, "accept")],
        ["a base chain's name on a regular chain"] = [SampleHooks[0], new("pre")],
    };

    public static TheoryData<string> ForeignHooks() => [.. Foreign.Keys];

    [Theory]
    [MemberData(nameof(ForeignHooks))]
    public void Replacement_OverATableHookedOtherwise_DeletesAndMakesItAgain_KeepingNothing(string why)
    {
        var existing = KernelTable.Parse(Listing) with { Chains = Foreign[why] };

        Assert.Equal("table inet sample\ndelete table inet sample\n", KernelTable.Replacement("inet sample", SampleHooks, existing));
        Assert.Equal("table inet sample\ndelete table inet sample\n", KernelTable.Replacement("inet sample", SampleHooks, existing, SampleKept));
    }

    private static readonly IPNetwork[] LocalPods = [IPNetwork.Parse("10.244.1.0/24")];

    // Each table the agent replaces whole, as its feature loads it, with two different contents: the hooks each declares
    // must be exactly what the kernel lists for them, or every replacement would silently fall back to a new table.
    private static readonly Dictionary<string, Action<NftablesSession, int>> AgentTables = new()
    {
        ["masquerade"] = (nft, round) => nft.ReplaceTable(MasqueradeRenderer.Table, MasqueradeRenderer.BaseChains,
            MasqueradeRenderer.Render(LocalPods, round == 0 ? [IPNetwork.Parse("10.96.0.0/12")] : [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("fd00::/8")])),
        ["tunnel clamping"] = (nft, round) => nft.ReplaceTable(MeshClampRenderer.Table, MeshClampRenderer.BaseChains,
            MeshClampRenderer.Render(round == 0 ? ["wg-a"] : ["wg-a", "wg-a-1"])),
        ["path steering"] = (nft, round) => nft.ReplaceTable(SteeringRenderer.Table, SteeringRenderer.BaseChains,
            SteeringRenderer.Render(
                [.. Enumerable.Range(0, 2 - round).Select(i => new MemberSteering($"m{i}", [IPNetwork.Parse($"10.{70 + i}.0.0/16")], "p", new Dictionary<IPAddress, string>()))],
                _ => 0x10000)),
        ["cluster set, at an agent's start"] = (nft, round) => nft.Run(ClusterSetRenderer.Render(
            [new(new("shop", "web"), IPAddress.Parse(round == 0 ? "10.112.0.7" : "10.112.0.8"), "TCP", 80, SessionAffinity.ClientIP, 600, [new("a", IPAddress.Parse("10.1.0.1"), 8080)])],
            previous: null, nft.ReadTable($"{ClusterSetRenderer.Family} {ClusterSetRenderer.Table}"))),
    };

    private static readonly Dictionary<string, string> TableOf = new()
    {
        ["masquerade"] = MasqueradeRenderer.Table,
        ["tunnel clamping"] = MeshClampRenderer.Table,
        ["path steering"] = SteeringRenderer.Table,
        ["cluster set, at an agent's start"] = $"{ClusterSetRenderer.Family} {ClusterSetRenderer.Table}",
    };

    public static TheoryData<string> Tables() => [.. AgentTables.Keys];

    [Theory]
    [MemberData(nameof(Tables))]
    public void EveryAgentTable_ReplacedWhole_KeepsItsHookedChains_AndNothingElseOfTheOldTable(string which)
    {
        var name = $"kt-{Guid.NewGuid().ToString("N")[..8]}";
        NetworkNamespace.Add(name);
        try
        {
            using var ns = NetNs.OpenPath(NetworkNamespace.PathOf(name));
            string Listed() => Command.Run("ip", ["netns", "exec", name, "nft", "-a", "list", "table", .. TableOf[which].Split(' ')]).Stdout;
            // "table inet x { # handle 5", then each "chain forward { # handle 2" with its hook line: the same table
            // (handles count from 1 again in a table made anew) and the same chain objects, hooked the same way.
            static string[] Hooked(string listed)
            {
                var lines = listed.Split('\n').Select(l => l.Trim()).ToArray();
                return [lines[0], .. lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("chain ", StringComparison.Ordinal) && lines[x.i + 1].StartsWith("type ", StringComparison.Ordinal)).Select(x => x.l + " " + lines[x.i + 1])];
            }
            void Load(int round) => ns.Run(() =>
            {
                using var nft = new NftablesSession();
                AgentTables[which](nft, round);
                return 0;
            });

            Load(0);
            var first = Listed();
            Load(1);
            var second = Listed();
            Load(1);
            var third = Listed();

            Assert.NotEmpty(Hooked(first));
            Assert.Equal(Hooked(first), Hooked(second));
            Assert.NotEqual(first, second);
            // The same content loaded again over itself leaves the same table but for new object handles.
            Assert.Equal(Hooked(second), Hooked(third));
            Assert.Equal(WithoutHandles(second), WithoutHandles(third));
        }
        finally
        {
            NetworkNamespace.TryDelete(name);
        }
    }

    private static string WithoutHandles(string listed) => System.Text.RegularExpressions.Regex.Replace(listed, @" # handle \d+", "");
}
