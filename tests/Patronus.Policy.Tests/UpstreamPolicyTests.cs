using Patronus.Policy.Compiled;
using Patronus.Policy.Model;
using Patronus.Policy.Tests.Support;
using static Patronus.Policy.Tests.Support.Build;
using static Patronus.Policy.Tests.Support.UpstreamCluster;

namespace Patronus.Policy.Tests;

/// <summary>
/// The classic policies of the upstream e2e suite (test/e2e/network/netpol/network_policy.go) on its x/y/z,
/// a/b/c cluster. Expected matrices are written from the networking.k8s.io/v1 API reference.
/// </summary>
public class UpstreamPolicyTests
{
    private static bool In(string pod, string ns) => pod.StartsWith(ns + "/", StringComparison.Ordinal);

    [Fact]
    public void NoPolicies_EverythingIsAllowed()
    {
        Assert.Equal(AllExcept((_, _) => false), Allowed(Compile()));
    }

    [Fact]
    public void DefaultDenyIngress_IsolatesEveryPodOfTheNamespace()
    {
        var compiler = Compile(Np("x", "deny-ingress"));
        Assert.Equal(AllExcept((_, to) => In(to, "x")), Allowed(compiler));
    }

    [Fact]
    public void DefaultDenyEgress_StopsEverythingLeavingTheNamespace()
    {
        var compiler = Compile(Np("x", "deny-egress", types: PolicyTypes.Egress));
        Assert.Equal(AllExcept((from, _) => In(from, "x")), Allowed(compiler));
    }

    [Fact]
    public void DenyAllBothWays_StillAllowsAPodToReachItself()
    {
        var compiler = Compile(Np("x", "deny-all", types: PolicyTypes.Ingress | PolicyTypes.Egress));
        var a = compiler.Get(new EndpointId("x", "a"))!;
        Assert.True(Analysis.Reachability.Allows(a, a, Protocol.Tcp, 80));
        Assert.Equal(AllExcept((from, to) => In(from, "x") || In(to, "x")), Allowed(compiler));
    }

    [Fact]
    public void AllowAllIngress_EmptyRuleAdmitsEverything()
    {
        var compiler = Compile(Np("x", "deny"), Np("x", "allow-all", ingress: [PolicyRule.AllowAll]));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler));
    }

    [Fact]
    public void AllowAllEgress_EmptyRuleAdmitsEverything()
    {
        var compiler = Compile(
            Np("x", "deny", types: PolicyTypes.Egress),
            Np("x", "allow-all", types: PolicyTypes.Egress, egress: [PolicyRule.AllowAll]));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler));
    }

    [Fact]
    public void PodSelectorPeer_OnlyMatchesPodsOfThePolicysNamespace()
    {
        var compiler = Compile(Np("x", "allow-b-to-a", Select("pod=a"), ingress: [Rule([PodPeer("pod=b")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && from != "x/b"), Allowed(compiler));
    }

    [Fact]
    public void NamespaceSelectorPeer_MatchesEveryPodOfMatchingNamespaces()
    {
        var compiler = Compile(Np("x", "from-y", Select("pod=a"), ingress: [Rule([NsPeer("kubernetes.io/metadata.name=y")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && !In(from, "y")), Allowed(compiler));
    }

    [Fact]
    public void BothSelectorsInOnePeer_AreAnded()
    {
        var compiler = Compile(Np("x", "from-y-c", Select("pod=a"),
            ingress: [Rule([NsPodPeer(["kubernetes.io/metadata.name=y"], ["pod=c"])])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && from != "y/c"), Allowed(compiler));
    }

    [Fact]
    public void SeparatePeers_AreOred()
    {
        var compiler = Compile(Np("x", "from-y-or-c", Select("pod=a"),
            ingress: [Rule([NsPeer("kubernetes.io/metadata.name=y"), PodPeer("pod=c")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && !In(from, "y") && from != "x/c"), Allowed(compiler));
    }

    [Fact]
    public void EmptyNamespaceSelector_MatchesAllNamespaces()
    {
        var compiler = Compile(Np("x", "deny"), Np("x", "from-everywhere", ingress: [Rule([NsPeer()])]));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler));
    }

    [Fact]
    public void EmptyNamespaceSelectorWithPodSelector_MatchesThosePodsInEveryNamespace()
    {
        var compiler = Compile(Np("x", "from-any-b", ingress: [Rule([NsPodPeer([], ["pod=b"])])]));
        Assert.Equal(AllExcept((from, to) => In(to, "x") && !from.EndsWith("/b", StringComparison.Ordinal)), Allowed(compiler));
    }

    [Fact]
    public void EmptyPodSelectorPeer_MatchesAllPodsOfTheOwnNamespaceOnly()
    {
        var compiler = Compile(Np("x", "from-own-ns", ingress: [Rule([PodPeer()])]));
        Assert.Equal(AllExcept((from, to) => In(to, "x") && !In(from, "x")), Allowed(compiler));
    }

    [Fact]
    public void IpBlockWithExcept_MatchesPodAddresses()
    {
        // y's pods are 10.0.2.0/24; y/b (10.0.2.2) is excepted.
        var compiler = Compile(Np("x", "from-block", Select("pod=a"), ingress: [Rule([Block("10.0.2.0/24", "10.0.2.2/32")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && from is not ("y/a" or "y/c")), Allowed(compiler));
    }

    [Fact]
    public void EgressIpBlock_AdmitsDestinationsInsideTheBlock()
    {
        var compiler = Compile(Np("x", "to-z", Select("pod=a"), types: PolicyTypes.Egress, egress: [Rule([Block("10.0.3.0/24")])]));
        Assert.Equal(AllExcept((from, to) => from == "x/a" && !In(to, "z")), Allowed(compiler));
    }

    [Fact]
    public void NumericPort_OnlyThatPortAndProtocol()
    {
        var compiler = Compile(Np("x", "tcp-80", Select("pod=a"), ingress: [Rule(ports: [TcpPort(80)])]));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler, 80, Protocol.Tcp));
        Assert.Equal(AllExcept((_, to) => to == "x/a"), Allowed(compiler, 81, Protocol.Tcp));
        Assert.Equal(AllExcept((_, to) => to == "x/a"), Allowed(compiler, 80, Protocol.Udp));
        Assert.Equal(AllExcept((_, to) => to == "x/a"), Allowed(compiler, 80, Protocol.Sctp));
    }

    [Theory]
    [InlineData(Protocol.Tcp, 80, true)]
    [InlineData(Protocol.Tcp, 81, true)]
    [InlineData(Protocol.Udp, 80, false)]
    [InlineData(Protocol.Sctp, 81, false)]
    public void ProtocolWithoutPort_MatchesEveryPortOfThatProtocol(Protocol probe, int port, bool allowed)
    {
        var compiler = Compile(Np("x", "all-tcp", Select("pod=a"), ingress: [Rule(ports: [new PolicyPort(Protocol.Tcp)])]));
        Assert.Equal(allowed, Allowed(compiler, port, probe).Contains("y/b->x/a"));
    }

    [Theory]
    [InlineData(79, false)]
    [InlineData(80, true)]
    [InlineData(81, true)]
    [InlineData(82, false)]
    public void EndPort_IsAnInclusiveRange(int port, bool allowed)
    {
        var compiler = Compile(Np("x", "range", Select("pod=a"), ingress: [Rule(ports: [new PolicyPort(Protocol.Tcp, 80, EndPort: 81)])]));
        Assert.Equal(allowed, Allowed(compiler, port).Contains("y/b->x/a"));
    }

    [Theory]
    [InlineData("serve-80-tcp", Protocol.Tcp, 80, Protocol.Tcp, true)]
    [InlineData("serve-80-tcp", Protocol.Tcp, 81, Protocol.Tcp, false)]
    [InlineData("serve-80-udp", Protocol.Udp, 80, Protocol.Udp, true)]
    [InlineData("serve-81-sctp", Protocol.Sctp, 81, Protocol.Sctp, true)]
    // The name exists only with UDP: a TCP named port of that name resolves to nothing, so nothing is admitted.
    [InlineData("serve-80-udp", Protocol.Tcp, 80, Protocol.Tcp, false)]
    [InlineData("serve-80-udp", Protocol.Tcp, 80, Protocol.Udp, false)]
    [InlineData("no-such-port", Protocol.Tcp, 80, Protocol.Tcp, false)]
    public void IngressNamedPort_ResolvesAgainstTheReceivingPod(string name, Protocol protocol, int probePort, Protocol probeProtocol, bool allowed)
    {
        var compiler = Compile(Np("x", "named", Select("pod=a"), ingress: [Rule(ports: [new PolicyPort(protocol, Name: name)])]));
        Assert.Equal(allowed, Allowed(compiler, probePort, probeProtocol).Contains("y/b->x/a"));
    }

    [Fact]
    public void IngressNamedPort_PodsDeclaringDifferentNumbersGetTheirOwn()
    {
        var pods = Pods().Select(p => p.Id == new EndpointId("x", "b")
            ? p with { Ports = [Port(8080, Protocol.Tcp, "serve-80-tcp")] }
            : p).ToList();
        var compiler = Compiler.PolicyCompiler.Create(Namespaces(), pods,
            [Np("x", "named", ingress: [Rule(ports: [new PolicyPort(Protocol.Tcp, Name: "serve-80-tcp")])])]);
        Assert.Contains("y/a->x/a", Allowed(compiler, 80));
        Assert.DoesNotContain("y/a->x/b", Allowed(compiler, 80));
        Assert.Contains("y/a->x/b", Allowed(compiler, 8080));
        Assert.DoesNotContain("y/a->x/a", Allowed(compiler, 8080));
    }

    [Fact]
    public void EgressNamedPort_ResolvesAgainstEachDestinationPod()
    {
        var pods = Pods().Select(p => p.Id == new EndpointId("y", "b")
            ? p with { Ports = [Port(81, Protocol.Tcp, "serve-80-tcp")] }
            : p.Id == new EndpointId("y", "c") ? p with { Ports = [] } : p).ToList();
        var compiler = Compiler.PolicyCompiler.Create(Namespaces(), pods,
            [Np("x", "named-egress", Select("pod=a"), PolicyTypes.Egress,
                egress: [Rule([NsPeer("kubernetes.io/metadata.name=y")], [new PolicyPort(Protocol.Tcp, Name: "serve-80-tcp")])])]);
        var on80 = Allowed(compiler, 80);
        var on81 = Allowed(compiler, 81);
        Assert.Contains("x/a->y/a", on80);
        Assert.DoesNotContain("x/a->y/b", on80);
        Assert.Contains("x/a->y/b", on81);
        Assert.DoesNotContain("x/a->y/a", on81);
        Assert.DoesNotContain("x/a->y/c", on80);
        Assert.DoesNotContain("x/a->y/c", on81);
        Assert.DoesNotContain("x/a->z/a", on80);
    }

    [Fact]
    public void EgressNamedPortWithoutPeers_CoversEveryPodDeclaringIt()
    {
        var compiler = Compile(Np("x", "named-egress", Select("pod=a"), PolicyTypes.Egress,
            egress: [Rule(ports: [new PolicyPort(Protocol.Udp, Name: "serve-81-udp")])]));
        Assert.Equal(AllExcept((from, _) => from == "x/a"), Allowed(compiler, 81, Protocol.Tcp));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler, 81, Protocol.Udp));
    }

    [Fact]
    public void EgressNamedPortWithIpBlock_CoversPodsInsideTheBlock()
    {
        var compiler = Compile(Np("x", "named-block", Select("pod=a"), PolicyTypes.Egress,
            egress: [Rule([Block("10.0.2.0/24", "10.0.2.3/32")], [new PolicyPort(Protocol.Tcp, Name: "serve-80-tcp")])]));
        Assert.Equal(AllExcept((from, to) => from == "x/a" && to is not ("y/a" or "y/b")), Allowed(compiler, 80));
    }

    [Fact]
    public void NumericAndUnresolvedNamedPortInOneRule_NumericStillAdmits()
    {
        var compiler = Compile(Np("x", "mixed", Select("pod=a"),
            ingress: [Rule(ports: [new PolicyPort(Protocol.Tcp, Name: "nope"), TcpPort(81)])]));
        Assert.DoesNotContain("y/b->x/a", Allowed(compiler, 80));
        Assert.Contains("y/b->x/a", Allowed(compiler, 81));
    }

    [Fact]
    public void PoliciesAreAdditive()
    {
        var compiler = Compile(
            Np("x", "deny"),
            Np("x", "from-y", ingress: [Rule([NsPeer("kubernetes.io/metadata.name=y")])]),
            Np("x", "a-from-z-c", Select("pod=a"), ingress: [Rule([NsPodPeer(["kubernetes.io/metadata.name=z"], ["pod=c"])])]));
        Assert.Equal(AllExcept((from, to) => In(to, "x") && !In(from, "y") && !(to == "x/a" && from == "z/c")), Allowed(compiler));
    }

    [Fact]
    public void PodToPod_NeedsSenderEgressAndReceiverIngress()
    {
        var compiler = Compile(
            Np("x", "a-egress-only-to-y-b", Select("pod=a"), PolicyTypes.Egress, egress: [Rule([NsPodPeer(["kubernetes.io/metadata.name=y"], ["pod=b"])])]),
            Np("y", "b-ingress-only-from-x-c", Select("pod=b"), ingress: [Rule([NsPodPeer(["kubernetes.io/metadata.name=x"], ["pod=c"])])]));
        var allowed = Allowed(compiler);
        Assert.DoesNotContain("x/a->y/b", allowed); // egress ok, ingress not
        Assert.Contains("x/c->y/b", allowed);       // c is not isolated for egress
        Assert.DoesNotContain("x/a->y/a", allowed); // ingress open, egress not
        Assert.DoesNotContain("z/a->y/b", allowed);
        Assert.Equal(AllExcept((from, to) => (from == "x/a" && to != "y/b") || (to == "y/b" && from != "x/c") ), allowed);
    }

    [Fact]
    public void EgressAndIngressInOnePolicy_BothApply()
    {
        var compiler = Compile(Np("x", "both", Select("pod=a"), PolicyTypes.Ingress | PolicyTypes.Egress,
            ingress: [Rule([PodPeer("pod=b")])], egress: [Rule([PodPeer("pod=c")])]));
        Assert.Equal(AllExcept((from, to) => (to == "x/a" && from != "x/b") || (from == "x/a" && to != "x/c")), Allowed(compiler));
    }

    [Fact]
    public void IngressOnlyTypes_IgnoreEgressRules()
    {
        var compiler = Compile(Np("x", "ingress-only", Select("pod=a"), PolicyTypes.Ingress, egress: [Rule([PodPeer("pod=c")])]));
        Assert.Equal(AllExcept((_, to) => to == "x/a"), Allowed(compiler));
    }

    [Fact]
    public void RuleWithPortsAndNoPeers_AdmitsEveryPeerOnThosePorts()
    {
        var compiler = Compile(Np("x", "to-81", types: PolicyTypes.Egress, egress: [Rule(ports: [TcpPort(81)])]));
        Assert.Equal(AllExcept((from, _) => In(from, "x")), Allowed(compiler, 80));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler, 81));
    }

    [Fact]
    public void PeerMatchingNoPod_AdmitsNothing()
    {
        var compiler = Compile(Np("x", "from-nobody", ingress: [Rule([PodPeer("pod=zzz")])]));
        Assert.Equal(AllExcept((_, to) => In(to, "x")), Allowed(compiler));
    }

    [Fact]
    public void MatchExpressions_SelectPeers()
    {
        var compiler = Compile(Np("x", "not-a", Select("pod=a"),
            ingress: [Rule([PolicyPeer.Namespaces(LabelSelector.Everything, Expr("pod", SelectorOperator.NotIn, "a", "b"))])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && !from.EndsWith("/c", StringComparison.Ordinal)), Allowed(compiler));
    }

    [Fact]
    public void DefaultTypes_EgressOnlyWhenEgressRulesExist()
    {
        Assert.Equal(PolicyTypes.Ingress, NetworkPolicy.DefaultTypes([]));
        Assert.Equal(PolicyTypes.Ingress | PolicyTypes.Egress, NetworkPolicy.DefaultTypes([PolicyRule.AllowAll]));
        var compiler = Compile(Np("x", "defaulted", Select("pod=a"), egress: [Rule([PodPeer("pod=b")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" || (from == "x/a" && to != "x/b")), Allowed(compiler));
    }

    [Fact]
    public void AddressInBothCidrAndExcept_IsAllowedWhenAnotherPolicyAdmitsIt()
    {
        // "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
        var compiler = Compile(
            Np("x", "block-except-y-b", Select("pod=a"), ingress: [Rule([Block("10.0.2.0/24", "10.0.2.2/32")])]),
            Np("x", "allow-y-b", Select("pod=a"), ingress: [Rule([Block("10.0.2.2/32")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && !In(from, "y")), Allowed(compiler));
    }

    [Fact]
    public void EgressExceptClause_DeniesTheExceptedServer()
    {
        // "should enforce except clause while egress access to server in CIDR block"
        var compiler = Compile(Np("x", "egress-except", Select("pod=a"), PolicyTypes.Egress,
            egress: [Rule([Block("10.0.0.0/16", "10.0.2.2/32")])]));
        Assert.Equal(AllExcept((from, to) => from == "x/a" && to == "y/b"), Allowed(compiler));
    }

    [Fact]
    public void MultiplePodSelectorValues_AnyOfThemIsAdmitted()
    {
        // "should enforce policy based on any PodSelectors"
        var compiler = Compile(Np("x", "in-b-c", Select("pod=a"), ingress: [Rule([PolicyPeer.Pods(Expr("pod", SelectorOperator.In, "b", "c"))])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && from is not ("x/b" or "x/c")), Allowed(compiler));
    }

    [Fact]
    public void NamespaceSelectorNotInWithPodSelector_MatchesTheRest()
    {
        // "should enforce policy based on Multiple PodSelectors and NamespaceSelectors"
        var compiler = Compile(Np("x", "not-x", Select("pod=a"), ingress: [Rule([PolicyPeer.Namespaces(
            Expr("kubernetes.io/metadata.name", SelectorOperator.NotIn, "x"), Expr("pod", SelectorOperator.In, "b", "c"))])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && !(from is "y/b" or "y/c" or "z/b" or "z/c")), Allowed(compiler));
    }

    [Fact]
    public void EgressToNamedPortInOtherNamespace_OnlyThatPort()
    {
        // "should allow egress access on one named port"
        var compiler = Compile(Np("x", "egress-named", types: PolicyTypes.Egress,
            egress: [Rule(ports: [new PolicyPort(Protocol.Tcp, Name: "serve-80-tcp")])]));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler, 80));
        Assert.Equal(AllExcept((from, _) => In(from, "x")), Allowed(compiler, 81));
    }

    [Fact]
    public void IngressNamedPortFromOtherNamespace_OnlyThatPortAndNamespace()
    {
        // "should allow ingress access from namespace on one named port"
        var compiler = Compile(Np("x", "from-y-named", ingress: [Rule([NsPeer("kubernetes.io/metadata.name=y")], [new PolicyPort(Protocol.Tcp, Name: "serve-81-tcp")])]));
        Assert.Equal(AllExcept((from, to) => In(to, "x")), Allowed(compiler, 80));
        Assert.Equal(AllExcept((from, to) => In(to, "x") && !In(from, "y")), Allowed(compiler, 81));
    }

    [Fact]
    public void IpBlockAdmitsPodAddresses_EvenFromTheSameNamespace()
    {
        // "should allow ingress access from pods in a CIDR block": ipBlock matches pod IPs wherever they live.
        var compiler = Compile(Np("x", "from-x-block", Select("pod=a"), ingress: [Rule([Block("10.0.1.2/32")])]));
        Assert.Equal(AllExcept((from, to) => to == "x/a" && from != "x/b"), Allowed(compiler));
    }
}
