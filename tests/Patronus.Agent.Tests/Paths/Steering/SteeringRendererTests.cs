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
            "table inet patronus_paths\ndelete table inet patronus_paths\ntable inet patronus_paths {\n" +
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

    /// <summary>The script loads into a real kernel through libnftables, twice (the second replaces the first whole), and goes again.</summary>
    [Fact]
    public void TheScript_LoadsIntoNftables_ReplacesItself_AndIsRemoved()
    {
        var name = $"steer-{Guid.NewGuid().ToString("N")[..8]}";
        NetworkNamespace.Add(name);
        try
        {
            using var ns = NetNs.OpenPath(NetworkNamespace.PathOf(name));
            void Load(string script) => ns.Run(() =>
            {
                using var nft = new NftablesSession();
                nft.Run(script);
                return 0;
            });
            var second = new MemberSteering("south", [IPNetwork.Parse("10.70.0.0/16")], "slow", new Dictionary<IPAddress, string>());
            Load(SteeringRenderer.Render([West], Mark));
            Load(SteeringRenderer.Render([West, second], Mark));
            var listed = Command.Run("ip", ["netns", "exec", name, "nft", "list", "table", "inet", "patronus_paths"]).Stdout;
            Assert.Contains("jump member_1", listed);
            Assert.Contains("10.60.1.2 : 0x00020000", listed);
            Assert.Equal(2, listed.Split("chain member_0 ").Length);
            Load(SteeringRenderer.RenderRemoval());
            Assert.NotEqual(0, Command.Run("ip", ["netns", "exec", name, "nft", "list", "table", "inet", "patronus_paths"]).ExitCode);
        }
        finally
        {
            NetworkNamespace.TryDelete(name);
        }
    }
}
