using System.Net;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Tests.Datapath.Nftables;

public sealed class RulesetRendererTests
{
    private static readonly IPAddress Pod = IPAddress.Parse("10.1.0.5");
    private static readonly IPAddress Pod6 = IPAddress.Parse("fd01::5");

    private static AllowRule Rule(string policy, IReadOnlyList<CidrMatch>? peers, params PortMatch[]? ports) =>
        new(new RuleOrigin("team", policy, 0, 0), peers, ports);

    private static CidrMatch Cidr(string cidr, params string[] except) => new(IPNetwork.Parse(cidr), except.Select(IPNetwork.Parse).ToList());

    private static string Boxes(params AllowRule[] rules)
    {
        var policy = new EndpointPolicy(new EndpointId("team", "web"), [Pod], new DirectionPolicy(true, ["team/p"], rules), DirectionPolicy.Open);
        var ingress = EndpointRules.From(policy).Ingress!;
        return string.Join(" | ", ingress.Sets().Select(s => $"{s.Name[^2..]}: {string.Join(", ", s.Elements)}"));
    }

    [Fact]
    public void Boxes_SinglePeerSinglePort()
    {
        Assert.Equal("p4: 10.0.0.1 . tcp . 80", Boxes(Rule("p", [Cidr("10.0.0.1/32")], new PortMatch(Protocol.Tcp, 80, 80))));
    }

    [Fact]
    public void Boxes_OverlappingPortRanges_CutIntoDisjointSegments()
    {
        var result = Boxes(
            Rule("p", [Cidr("10.0.0.0/24")], new PortMatch(Protocol.Tcp, 8000, 8100)),
            Rule("p", [Cidr("10.0.1.7/32")], new PortMatch(Protocol.Tcp, 8050, 8200)));
        Assert.Equal(
            "p4: 10.0.0.0-10.0.0.255 . tcp . 8000-8049, 10.0.0.0-10.0.0.255 . tcp . 8050-8100, 10.0.1.7 . tcp . 8050-8100, 10.0.1.7 . tcp . 8101-8200",
            result);
    }

    [Fact]
    public void Boxes_SamePeersOnAdjacentRanges_AreJoined()
    {
        var result = Boxes(
            Rule("p", [Cidr("10.0.0.1/32")], new PortMatch(Protocol.Tcp, 80, 89)),
            Rule("p", [Cidr("10.0.0.1/32")], new PortMatch(Protocol.Tcp, 90, 99), new PortMatch(Protocol.Udp, 53, 53)));
        Assert.Equal("p4: 10.0.0.1 . tcp . 80-99, 10.0.0.1 . udp . 53", result);
    }

    [Fact]
    public void Boxes_AnyPeer_CoversBothFamilies_AllPortsOfAProtocol()
    {
        var result = Boxes(Rule("p", null, new PortMatch(Protocol.Sctp, null, 0)));
        Assert.Equal(
            "p4: 0.0.0.0-255.255.255.255 . sctp . 0-65535 | p6: ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff . sctp . 0-65535",
            result);
    }

    [Fact]
    public void Boxes_PeersWithoutPorts_GoToThePeerSet_ExceptsCut()
    {
        Assert.Equal(
            "a4: 10.0.0.0-10.0.0.127, 10.0.0.192-10.0.0.255 | a6: fd00::-fd00::ffff:ffff:ffff:ffff",
            Boxes(Rule("p", [Cidr("10.0.0.0/24", "10.0.0.128/26"), Cidr("fd00::/64")], null)));
    }

    [Fact]
    public void Boxes_EmptyPeerOrPortLists_AdmitNothing()
    {
        Assert.Equal("", Boxes(Rule("p", [], null), Rule("p", [Cidr("10.0.0.0/8")], [])));
    }

    [Fact]
    public void Boxes_RuleWithoutPeersOrPorts_AllowsAll()
    {
        var policy = new EndpointPolicy(new EndpointId("team", "web"), [Pod],
            new DirectionPolicy(true, ["team/p"], [Rule("p", [Cidr("10.0.0.1/32")], new PortMatch(Protocol.Tcp, 80, 80)), Rule("p", null, null)]), DirectionPolicy.Open);
        Assert.True(EndpointRules.From(policy).Ingress!.AllowAll);
    }

    [Theory]
    [InlineData(0, 70000)]
    [InlineData(90, 80)]
    [InlineData(-1, 10)]
    public void BadPortRange_IsRejectedNamingTheRule(int first, int last)
    {
        var policy = new EndpointPolicy(new EndpointId("team", "web"), [Pod],
            new DirectionPolicy(true, ["team/p"], [Rule("bad-policy", null, new PortMatch(Protocol.Tcp, first, last))]), DirectionPolicy.Open);
        var error = Assert.Throws<ArgumentException>(() => EndpointRules.From(policy));
        Assert.Contains("ingress rule 0 (bad-policy)", error.Message);
    }

    [Theory]
    [InlineData("te\"am", "web")]
    [InlineData("team", "we b")]
    [InlineData("team", "a\\b")]
    public void NamesThatCouldBreakTheScript_AreRejected(string ns, string name)
    {
        var policy = new EndpointPolicy(new EndpointId(ns, name), [Pod], DirectionPolicy.Open, DirectionPolicy.Open);
        var error = Assert.Throws<ArgumentException>(() => EndpointRules.From(policy));
        Assert.Contains("endpoint", error.Message);
    }

    [Fact]
    public void NameHash_IsStable()
    {
        Assert.Equal("ep_" + NameHash.Of("team/web") + "_in", Web().Ingress!.Chain);
        Assert.Equal(16, NameHash.Of("team/web").Length);
        Assert.Equal(NameHash.Of("team/web"), NameHash.Of("team/web"));
        Assert.NotEqual(NameHash.Of("team/web"), NameHash.Of("team/db"));
    }

    [Theory]
    [InlineData(new[] { "team/only" }, "only")]
    [InlineData(new[] { "team/p1", "team/p2" }, "")]
    public void DropCounter_AttributedToTheSoleIsolatingPolicy(string[] isolatedBy, string expected)
    {
        var policy = new EndpointPolicy(new EndpointId("team", "web"), [Pod], new DirectionPolicy(true, isolatedBy, []), DirectionPolicy.Open);
        var counter = EndpointRules.From(policy).Ingress!.Counter;
        Assert.Equal(new DropCounter("team", expected, "ingress"), counter);
        Assert.Equal(counter, DropCounter.ParseComment(counter.Comment));
    }

    private static EndpointRules Web() => EndpointRules.From(new EndpointPolicy(
        new EndpointId("team", "web"),
        [Pod, Pod6],
        new DirectionPolicy(true, ["team/allow-api"], [Rule("allow-api", [Cidr("10.1.0.0/24", "10.1.0.128/25")], new PortMatch(Protocol.Tcp, 8080, 8080))]),
        new DirectionPolicy(true, ["team/dns", "team/db"], [Rule("dns", null, new PortMatch(Protocol.Udp, 53, 53)), Rule("db", [Cidr("fd01::/64")], null)])));

    [Fact]
    public void RenderFull_PinnedOutput()
    {
        var web = Web();
        var db = EndpointRules.From(new EndpointPolicy(new EndpointId("team", "db"), [IPAddress.Parse("10.1.0.6")], DirectionPolicy.Open, DirectionPolicy.Open));
        var h = NameHash.Of("team/web");
        var inCounter = new DropCounter("team", "allow-api", "ingress").Name;
        var egCounter = new DropCounter("team", "", "egress").Name;
        var carried = new Dictionary<string, (ulong, ulong)> { [inCounter] = (7, 420) };

        var script = RulesetRenderer.RenderFull([web, db], carried);

        var counters = string.CompareOrdinal(inCounter, egCounter) < 0
            ? $$"""
                counter {{inCounter}} {
                    comment "team/allow-api ingress"
                    packets 7 bytes 420
                }
                counter {{egCounter}} {
                    comment "team/ egress"
                    packets 0 bytes 0
                }
            """
            : $$"""
                counter {{egCounter}} {
                    comment "team/ egress"
                    packets 0 bytes 0
                }
                counter {{inCounter}} {
                    comment "team/allow-api ingress"
                    packets 7 bytes 420
                }
            """;
        var expected = $$"""
            table inet patronus
            delete table inet patronus
            table inet patronus {
            {{counters}}
                set ep_{{h}}_in_p4 {
                    type ipv4_addr . inet_proto . inet_service
                    flags interval
                    elements = { 10.1.0.0-10.1.0.127 . tcp . 8080 }
                }
                chain ep_{{h}}_in {
                    comment "team/web ingress"
                    ip saddr . meta l4proto . th dport @ep_{{h}}_in_p4 return
                    counter name "{{inCounter}}" drop
                }
                set ep_{{h}}_eg_p4 {
                    type ipv4_addr . inet_proto . inet_service
                    flags interval
                    elements = { 0.0.0.0-255.255.255.255 . udp . 53 }
                }
                set ep_{{h}}_eg_a6 {
                    type ipv6_addr
                    flags interval
                    elements = { fd01::-fd01::ffff:ffff:ffff:ffff }
                }
                set ep_{{h}}_eg_p6 {
                    type ipv6_addr . inet_proto . inet_service
                    flags interval
                    elements = { ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff . udp . 53 }
                }
                chain ep_{{h}}_eg {
                    comment "team/web egress"
                    ip daddr . meta l4proto . th dport @ep_{{h}}_eg_p4 return
                    ip6 daddr @ep_{{h}}_eg_a6 return
                    ip6 daddr . meta l4proto . th dport @ep_{{h}}_eg_p6 return
                    counter name "{{egCounter}}" drop
                }
                map ingress_v4 {
                    type ipv4_addr : verdict
                    elements = { 10.1.0.5 : jump ep_{{h}}_in }
                }
                map ingress_v6 {
                    type ipv6_addr : verdict
                    elements = { fd01::5 : jump ep_{{h}}_in }
                }
                map egress_v4 {
                    type ipv4_addr : verdict
                    elements = { 10.1.0.5 : jump ep_{{h}}_eg }
                }
                map egress_v6 {
                    type ipv6_addr : verdict
                    elements = { fd01::5 : jump ep_{{h}}_eg }
                }
                chain forward {
                    type filter hook forward priority filter; policy accept;
                    ct state established,related accept
                    icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept
                    ct state invalid drop
                    ip saddr vmap @egress_v4
                    ip daddr vmap @ingress_v4
                    ip6 saddr vmap @egress_v6
                    ip6 daddr vmap @ingress_v6
                }
                chain input {
                    type filter hook input priority filter; policy accept;
                    ct state established,related accept
                    icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept
                    ip saddr vmap @egress_v4
                    ip6 saddr vmap @egress_v6
                }
            }

            """;
        Assert.Equal(expected.Replace("    ", "\t"), script);
    }

    // A table an earlier reconcile made: web isolated as now (its chain, set and counter), an endpoint gone since
    // (ep_old_in), two of the four maps.
    private static readonly KernelTable Installed = new(
        [new KernelChain("ep_old_in"), new KernelChain(Web().Ingress!.Chain), .. RulesetRenderer.BaseChains],
        ["ep_old_in_p4", Web().Ingress!.Ports4Set],
        ["ingress_v4", "egress_v4"],
        [new KernelCounter("drop_old", "", 0, 0), new KernelCounter(Web().Ingress!.Counter.Name, Web().Ingress!.Counter.Comment, 7, 420)]);

    [Fact]
    public void RenderFull_OverOurTable_KeepsItsHooks_ItsMapsAndWhatItDeclaresAgain_AndDeletesTheRestAfterTheRules()
    {
        var script = RulesetRenderer.RenderFull([Web()], new Dictionary<string, (ulong, ulong)>(), Installed);

        // web's chain and counter stay (no delete), its set is made again; the gone endpoint's objects are deleted.
        var preamble = $$"""
            flush table inet patronus
            flush map inet patronus ingress_v4
            flush map inet patronus egress_v4
            delete chain inet patronus ep_old_in
            delete set inet patronus ep_old_in_p4
            delete set inet patronus {{Web().Ingress!.Ports4Set}}
            delete counter inet patronus drop_old
            table inet patronus {

            """;
        Assert.StartsWith(preamble, script);
        // The body is what a fresh table gets.
        var fresh = RulesetRenderer.RenderFull([Web()], new Dictionary<string, (ulong, ulong)>());
        Assert.Equal(fresh[fresh.IndexOf("table inet patronus {", StringComparison.Ordinal)..], script[(preamble.Length - "table inet patronus {\n".Length)..]);
        Assert.DoesNotContain("delete table", script);
        Assert.DoesNotContain("delete chain inet patronus forward", script);
        Assert.DoesNotContain("delete chain inet patronus input", script);
    }

    private static readonly Dictionary<string, KernelChain[]> Foreign = new()
    {
        ["another priority"] = [new("forward", "filter", "forward", 10, "accept"), RulesetRenderer.BaseChains[1]],
        ["a drop policy"] = [RulesetRenderer.BaseChains[0], new("input", "filter", "input", 0, "drop")],
        ["a hook we do not use"] = [.. RulesetRenderer.BaseChains, new("output", "filter", "output", 0, "accept")],
        ["forward as a regular chain"] = [new("forward"), RulesetRenderer.BaseChains[1]],
    };

    public static TheoryData<string> ForeignHooks() => [.. Foreign.Keys];

    [Theory]
    [MemberData(nameof(ForeignHooks))]
    public void RenderFull_OverATableWithOtherHooks_DeletesAndMakesItAgain(string why)
    {
        var script = RulesetRenderer.RenderFull([Web()], new Dictionary<string, (ulong, ulong)>(), Installed with { Chains = Foreign[why] });

        Assert.True(script.StartsWith("table inet patronus\ndelete table inet patronus\ntable inet patronus {\n", StringComparison.Ordinal), why);
        Assert.DoesNotContain("flush table", script);
    }

    [Fact]
    public void RenderUpdate_ChangedEndpoint_TouchesOnlyItsObjects()
    {
        var before = EndpointRules.From(new EndpointPolicy(new EndpointId("team", "web"), [Pod],
            new DirectionPolicy(true, ["team/p"], [Rule("p", [Cidr("10.1.0.7/32")], null)]), DirectionPolicy.Open));
        var after = EndpointRules.From(new EndpointPolicy(new EndpointId("team", "web"), [IPAddress.Parse("10.1.0.9")],
            new DirectionPolicy(true, ["team/p"], [Rule("p", [Cidr("10.1.0.7/32")], new PortMatch(Protocol.Tcp, 443, 443))]),
            new DirectionPolicy(true, ["team/q"], [])));
        var h = NameHash.Of("team/web");
        var p = new DropCounter("team", "p", "ingress").Name;
        var q = new DropCounter("team", "q", "egress").Name;

        var script = RulesetRenderer.RenderUpdate([(before, after)]);

        Assert.Equal(
            $"""
            delete element inet patronus ingress_v4 {"{"} 10.1.0.5 {"}"}
            add counter inet patronus {p} {"{"} comment "team/p ingress"; {"}"}
            flush chain inet patronus ep_{h}_in
            delete set inet patronus ep_{h}_in_a4
            add set inet patronus ep_{h}_in_p4 {"{"} type ipv4_addr . inet_proto . inet_service; flags interval; {"}"}
            add element inet patronus ep_{h}_in_p4 {"{"} 10.1.0.7 . tcp . 443 {"}"}
            add rule inet patronus ep_{h}_in ip saddr . meta l4proto . th dport @ep_{h}_in_p4 return
            add rule inet patronus ep_{h}_in counter name "{p}" drop
            add counter inet patronus {q} {"{"} comment "team/q egress"; {"}"}
            add chain inet patronus ep_{h}_eg {"{"} comment "team/web egress"; {"}"}
            add rule inet patronus ep_{h}_eg counter name "{q}" drop
            add element inet patronus ingress_v4 {"{"} 10.1.0.9 : jump ep_{h}_in {"}"}
            add element inet patronus egress_v4 {"{"} 10.1.0.9 : jump ep_{h}_eg {"}"}

            """,
            script);
    }

    private static EndpointRules WebAllowing(params int[] ports) => EndpointRules.From(new EndpointPolicy(new EndpointId("team", "web"), [Pod],
        new DirectionPolicy(true, ["team/p"], ports.Select(port => Rule("p", [Cidr("10.1.0.7/32")], new PortMatch(Protocol.Tcp, port, port))).ToList()),
        DirectionPolicy.Open));

    [Fact]
    public void RenderUpdate_SameShape_EditsSetElementsOnly()
    {
        var h = NameHash.Of("team/web");
        var p = new DropCounter("team", "p", "ingress").Name;

        var script = RulesetRenderer.RenderUpdate([(WebAllowing(80, 443), WebAllowing(80, 8443))]);

        Assert.Equal(
            $"""
            add counter inet patronus {p} {"{"} comment "team/p ingress"; {"}"}
            delete element inet patronus ep_{h}_in_p4 {"{"} 10.1.0.7 . tcp . 443 {"}"}
            add element inet patronus ep_{h}_in_p4 {"{"} 10.1.0.7 . tcp . 8443 {"}"}

            """,
            script);
    }

    [Fact]
    public void RenderUpdate_ManyRemovals_RecreatesTheSet()
    {
        var before = WebAllowing(Enumerable.Range(1000, RulesetRenderer.ReplaceSetAboveRemovals + 1).Select(i => i * 2).ToArray());
        var after = WebAllowing(1);
        var h = NameHash.Of("team/web");
        var p = new DropCounter("team", "p", "ingress").Name;

        var script = RulesetRenderer.RenderUpdate([(before, after)]);

        Assert.Equal(
            $"""
            add counter inet patronus {p} {"{"} comment "team/p ingress"; {"}"}
            flush chain inet patronus ep_{h}_in
            delete set inet patronus ep_{h}_in_p4
            add set inet patronus ep_{h}_in_p4 {"{"} type ipv4_addr . inet_proto . inet_service; flags interval; {"}"}
            add element inet patronus ep_{h}_in_p4 {"{"} 10.1.0.7 . tcp . 1 {"}"}
            add rule inet patronus ep_{h}_in ip saddr . meta l4proto . th dport @ep_{h}_in_p4 return
            add rule inet patronus ep_{h}_in counter name "{p}" drop

            """,
            script);
    }

    [Fact]
    public void RenderUpdate_RemovedEndpoint_DeletesElementsThenChainThenSets()
    {
        var before = EndpointRules.From(new EndpointPolicy(new EndpointId("team", "web"), [Pod],
            new DirectionPolicy(true, ["team/p"], [Rule("p", [Cidr("10.1.0.7/32")], null)]), DirectionPolicy.Open));
        var h = NameHash.Of("team/web");

        Assert.Equal(
            $"""
            delete element inet patronus ingress_v4 {"{"} 10.1.0.5 {"}"}
            flush chain inet patronus ep_{h}_in
            delete chain inet patronus ep_{h}_in
            delete set inet patronus ep_{h}_in_a4

            """,
            RulesetRenderer.RenderUpdate([(before, null)]));
    }
}
