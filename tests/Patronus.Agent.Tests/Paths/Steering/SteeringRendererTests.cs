using System.Net;
using Patronus.Agent.Paths.Steering;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Paths.Steering;

public sealed class SteeringRendererTests
{
    private static readonly MemberSteering West = new("west", [IPNetwork.Parse("10.62.0.0/16"), IPNetwork.Parse("fd00:a3e::/32"), IPNetwork.Parse("10.63.0.0/16")], "fast",
        new Dictionary<IPAddress, string> { [IPAddress.Parse("10.60.1.3")] = "slow", [IPAddress.Parse("10.60.1.2")] = "slow", [IPAddress.Parse("fd00:a3c:0:1::2")] = "slow" });

    private static uint? Mark(string path) => path switch { "fast" => 0x10000, "slow" => 0x20000, _ => null };

    [Fact]
    public void TheTable_MarksEachMembersRangesWithItsDefaultPath_AndPodsOnAnotherByAMap()
    {
        Assert.Equal(
            "table inet patronus_paths {\n" +
            "\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n" +
            "\t\tip daddr { 10.62.0.0/16, 10.63.0.0/16 } jump member_0\n" +
            "\t\tip6 daddr { fd00:a3e::/32 } jump member_0\n" +
            "\t}\n" +
            "\tchain member_0 {\n" +
            "\t\tmeta mark set 0x00010000\n" +
            "\t\tmeta mark set ip saddr map { 10.60.1.2 : 0x00020000, 10.60.1.3 : 0x00020000 }\n" +
            "\t\tmeta mark set ip6 saddr map { fd00:a3c:0:1::2 : 0x00020000 }\n" +
            "\t}\n" +
            "}\n",
            SteeringRenderer.Render([West], Mark));
    }

    [Fact]
    public void APathWithoutAMark_LeavesItsPacketsUnmarked()
    {
        var script = SteeringRenderer.Render([West with { DefaultPathId = "wg-sdwan", PodPaths = new Dictionary<IPAddress, string> { [IPAddress.Parse("10.60.1.2")] = "wg-sdwan" } }], Mark);
        Assert.DoesNotContain("meta mark set", script);
    }

    /// <summary>
    /// The declaration replaces itself in a real kernel through libnftables: chains of members no longer steered go,
    /// the hooked chain stays the same chain (no packet meets an unhooked table), and the removal takes it all away.
    /// </summary>
    [Fact]
    public void TheTable_ReplacesItselfInPlace_AndIsRemoved()
    {
        var name = $"steer-{Guid.NewGuid().ToString("N")[..8]}";
        NetworkNamespace.Add(name);
        try
        {
            using var ns = NetNs.OpenPath(NetworkNamespace.PathOf(name));
            T InNamespace<T>(Func<NftablesSession, T> action) => ns.Run(() =>
            {
                using var nft = new NftablesSession();
                return action(nft);
            });
            void Load(IReadOnlyList<MemberSteering> members) =>
                InNamespace(nft => { nft.ReplaceTable(SteeringRenderer.Table, SteeringRenderer.BaseChains, SteeringRenderer.Render(members, Mark)); return 0; });
            string List() => Command.Run("ip", ["netns", "exec", name, "nft", "-a", "list", "table", "inet", "patronus_paths"]).Stdout;
            // The table's handle and its hooked chain's: a table made anew would count its handles from 1 again.
            static string Hook(string listed) => listed.Split('\n')[0] + listed.Split('\n').Single(l => l.Contains("chain prerouting", StringComparison.Ordinal)).Trim();

            var second = new MemberSteering("south", [IPNetwork.Parse("10.70.0.0/16")], "slow", new Dictionary<IPAddress, string>());
            Load([West]);
            var hook = Hook(List());
            Load([West, second]);
            var listed = List();
            Assert.Contains("jump member_1", listed);
            Assert.Contains("10.60.1.2 : 0x00020000", listed);
            Assert.Equal(hook, Hook(listed));
            Load([second]);
            listed = List();
            Assert.DoesNotContain("member_1", listed);
            Assert.Contains("10.70.0.0/16", listed);
            Assert.DoesNotContain("10.60.1.2", listed);
            Assert.Equal(hook, Hook(listed));

            InNamespace(nft => nft.Run(SteeringRenderer.RenderRemoval()));
            Assert.NotEqual(0, Command.Run("ip", ["netns", "exec", name, "nft", "list", "table", "inet", "patronus_paths"]).ExitCode);
        }
        finally
        {
            NetworkNamespace.TryDelete(name);
        }
    }
}
