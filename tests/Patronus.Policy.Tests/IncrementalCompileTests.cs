using System.Net;
using Patronus.Policy.Compiled;
using Patronus.Policy.Compiler;
using Patronus.Policy.Model;
using Patronus.Policy.Tests.Support;
using static Patronus.Policy.Tests.Support.Build;
using static Patronus.Policy.Tests.Support.UpstreamCluster;

namespace Patronus.Policy.Tests;

/// <summary>Updates take effect, and each reports exactly the endpoints whose compiled form changed.</summary>
public class IncrementalCompileTests
{
    private static readonly EndpointId XA = new("x", "a");
    private static readonly EndpointId XB = new("x", "b");

    private static string[] Ids(IEnumerable<EndpointId> ids) => ids.Select(i => i.ToString()).Order(StringComparer.Ordinal).ToArray();

    /// <summary>x/a admits only pods labelled role=client, from any namespace labelled team=blue.</summary>
    private static PolicyCompiler Guarded() => Compile(
        Np("x", "a-from-clients", Select("pod=a"), ingress: [Rule([NsPodPeer(["team=blue"], ["role=client"])])]));

    [Fact]
    public void PodRelabelledIntoAPeer_ChangesOnlyTheEndpointsWhosePolicyNamesIt()
    {
        var compiler = Guarded();
        compiler.UpsertNamespace(Ns("y", "kubernetes.io/metadata.name=y", "team=blue"));
        var changes = compiler.UpsertPod(Build.Pod("y", "b", Address("y", "b"), ["pod=b", "role=client"], ServingPorts()));
        Assert.Equal(["x/a"], Ids(changes.Changed));
        Assert.Empty(changes.Removed);
        Assert.Contains("y/b->x/a", Allowed(compiler));
        Assert.DoesNotContain("y/a->x/a", Allowed(compiler));
    }

    [Fact]
    public void NamespaceRelabelled_AddsAndRemovesItsPodsAsPeers()
    {
        var compiler = Guarded();
        compiler.UpsertPod(Build.Pod("z", "c", Address("z", "c"), ["pod=c", "role=client"], ServingPorts()));
        Assert.DoesNotContain("z/c->x/a", Allowed(compiler));

        var changes = compiler.UpsertNamespace(Ns("z", "kubernetes.io/metadata.name=z", "team=blue"));
        Assert.Equal(["x/a"], Ids(changes.Changed));
        Assert.Contains("z/c->x/a", Allowed(compiler));

        changes = compiler.UpsertNamespace(Ns("z", "kubernetes.io/metadata.name=z"));
        Assert.Equal(["x/a"], Ids(changes.Changed));
        Assert.DoesNotContain("z/c->x/a", Allowed(compiler));
    }

    [Fact]
    public void UnrelatedChanges_ReportOnlyTheirOwnEndpointOrNothing()
    {
        var compiler = Guarded();
        var added = compiler.UpsertPod(Build.Pod("z", "d", "10.0.3.4", ["pod=d"]));
        Assert.Equal(["z/d"], Ids(added.Changed));

        // Labels are not part of the compiled form: a relabel no selector cares about changes nothing.
        var relabelled = compiler.UpsertPod(Build.Pod("z", "d", "10.0.3.4", ["pod=d", "color=red"]));
        Assert.True(relabelled.IsEmpty);

        var same = compiler.UpsertPod(Build.Pod("z", "d", "10.0.3.4", ["pod=d", "color=red"]));
        Assert.True(same.IsEmpty);

        var removed = compiler.RemovePod("z", "d");
        Assert.Equal(["z/d"], Ids(removed.Removed));
        Assert.Empty(removed.Changed);
        Assert.Null(compiler.Get(new EndpointId("z", "d")));
    }

    [Fact]
    public void PeerPodChangesAddress_PolicyOfTheSelectedEndpointFollows()
    {
        var compiler = Compile(Np("x", "a-from-b", Select("pod=a"), ingress: [Rule([PodPeer("pod=b")])]));
        var changes = compiler.UpsertPod(Build.Pod("x", "b", "10.0.1.42", ["pod=b"], ServingPorts()));
        Assert.Equal(["x/a", "x/b"], Ids(changes.Changed));
        var a = compiler.Get(XA)!;
        Assert.True(a.Ingress.Allows(IPAddress.Parse("10.0.1.42"), Protocol.Tcp, 80));
        Assert.False(a.Ingress.Allows(IPAddress.Parse("10.0.1.2"), Protocol.Tcp, 80));
    }

    [Fact]
    public void PodLosesItsAddress_LeavesPolicyLikeARemovedPod()
    {
        var compiler = Compile(Np("x", "a-from-b", Select("pod=a"), ingress: [Rule([PodPeer("pod=b")])]));
        var changes = compiler.UpsertPod(Build.Pod("x", "b", "", ["pod=b"]));
        Assert.Equal(["x/a"], Ids(changes.Changed));
        Assert.Equal(["x/b"], Ids(changes.Removed));
        Assert.Empty(compiler.Get(XA)!.Ingress.Rules.SelectMany(r => r.Peers!));
    }

    [Fact]
    public void PodRelabelledOutOfTheSelector_IsNoLongerIsolated()
    {
        var compiler = Compile(Np("x", "deny-a", Select("pod=a")));
        Assert.True(compiler.Get(XA)!.Ingress.Isolated);
        var changes = compiler.UpsertPod(Build.Pod("x", "a", Address("x", "a"), ["pod=other"], ServingPorts()));
        Assert.Equal(["x/a"], Ids(changes.Changed));
        Assert.False(compiler.Get(XA)!.Ingress.Isolated);
    }

    [Fact]
    public void PolicyAddedUpdatedDeleted_TouchesOnlyTheSelectedEndpoints()
    {
        var compiler = Compile();
        var added = compiler.UpsertPolicy(Np("x", "p", Select("pod=a")));
        Assert.Equal(["x/a"], Ids(added.Changed));
        Assert.DoesNotContain("y/a->x/a", Allowed(compiler));

        var updated = compiler.UpsertPolicy(Np("x", "p", Select("pod=b")));
        Assert.Equal(["x/a", "x/b"], Ids(updated.Changed));
        Assert.Contains("y/a->x/a", Allowed(compiler));
        Assert.DoesNotContain("y/a->x/b", Allowed(compiler));

        var deleted = compiler.RemovePolicy("x", "p");
        Assert.Equal(["x/b"], Ids(deleted.Changed));
        Assert.Equal(AllExcept((_, _) => false), Allowed(compiler));
    }

    [Fact]
    public void NewPodMatchingAPeer_ReachesEveryEndpointThatAdmitsIt()
    {
        var compiler = Compile(
            Np("x", "from-role-db", ingress: [Rule([NsPodPeer([], ["role=db"])])]),
            Np("y", "deny"));
        var changes = compiler.UpsertPod(Build.Pod("z", "db", "10.0.3.9", ["role=db"]));
        Assert.Equal(["x/a", "x/b", "x/c", "z/db"], Ids(changes.Changed));
        Assert.Contains("z/db->x/b", Allowed(compiler));
        Assert.DoesNotContain("z/db->y/b", Allowed(compiler));
    }

    [Fact]
    public void DestinationPortRenamed_EgressNamedPortExpansionFollows()
    {
        var compiler = Compile(Np("x", "a-to-web", Select("pod=a"), PolicyTypes.Egress,
            egress: [Rule([NsPeer()], [new PolicyPort(Protocol.Tcp, Name: "web")])]));
        Assert.DoesNotContain("x/a->y/b", Allowed(compiler, 80));
        var changes = compiler.UpsertPod(Build.Pod("y", "b", Address("y", "b"), ["pod=b"], [Port(80, Protocol.Tcp, "web")]));
        Assert.Equal(["x/a"], Ids(changes.Changed));
        Assert.Contains("x/a->y/b", Allowed(compiler, 80));
        Assert.DoesNotContain("x/a->y/c", Allowed(compiler, 80));
    }

    [Fact]
    public void IngressNamedPortChangedOnTheReceiver_OnlyTheReceiverChanges()
    {
        var compiler = Compile(Np("x", "named", ingress: [Rule(ports: [new PolicyPort(Protocol.Tcp, Name: "serve-80-tcp")])]));
        var changes = compiler.UpsertPod(Build.Pod("x", "b", Address("x", "b"), ["pod=b"], [Port(8080, Protocol.Tcp, "serve-80-tcp")]));
        Assert.Equal(["x/b"], Ids(changes.Changed));
        Assert.Contains("y/a->x/b", Allowed(compiler, 8080));
    }

    [Fact]
    public void NamespaceRemoved_FallsBackToItsNameLabel()
    {
        var compiler = Compile(Np("x", "from-blue", ingress: [Rule([NsPeer("team=blue")])]), Np("x", "from-y", ingress: [Rule([NsPeer("kubernetes.io/metadata.name=y")])]));
        compiler.UpsertNamespace(Ns("z", "team=blue"));
        Assert.Contains("z/a->x/a", Allowed(compiler));
        compiler.RemoveNamespace("z");
        Assert.DoesNotContain("z/a->x/a", Allowed(compiler));
        compiler.RemoveNamespace("y");
        Assert.Contains("y/a->x/a", Allowed(compiler));
    }

    [Fact]
    public void IncrementalBuild_EqualsFullCompile()
    {
        var policies = new[]
        {
            Np("x", "deny"),
            Np("x", "from-y", ingress: [Rule([NsPeer("kubernetes.io/metadata.name=y")], [new PolicyPort(Protocol.Tcp, Name: "serve-80-tcp")])]),
            Np("y", "egress", Select("pod=b"), PolicyTypes.Egress, egress: [Rule([Block("10.0.1.0/24")], [new PolicyPort(Protocol.Udp, Name: "serve-81-udp")])]),
        };
        var full = Compile(policies);
        var stepwise = new PolicyCompiler();
        foreach (var policy in policies)
            stepwise.UpsertPolicy(policy);
        foreach (var pod in Pods().Reverse())
            stepwise.UpsertPod(pod);
        foreach (var ns in Namespaces())
            stepwise.UpsertNamespace(ns);
        foreach (var (probe, protocol) in new[] { (80, Protocol.Tcp), (81, Protocol.Udp), (81, Protocol.Tcp) })
            Assert.Equal(Allowed(full, probe, protocol), Allowed(stepwise, probe, protocol));
    }

    [Fact]
    public void DualStack_AddressesOfTheSameFamilyAreChecked()
    {
        var compiler = PolicyCompiler.Create([], [
            Build.Pod("v6", "a", "fd00::1,10.1.0.1", ["pod=a"]),
            Build.Pod("v6", "b", "10.1.0.2,fd00::2", ["pod=b"]),
            Build.Pod("v6", "c", "fd00::3", ["pod=c"]),
        ], [Np("v6", "a-from-v6-block", Select("pod=a"), ingress: [Rule([Block("fd00::/64", "fd00::3/128")])])]);
        var a = compiler.Get(new EndpointId("v6", "a"))!;
        var b = compiler.Get(new EndpointId("v6", "b"))!;
        var c = compiler.Get(new EndpointId("v6", "c"))!;
        Assert.Equal([IPAddress.Parse("fd00::1"), IPAddress.Parse("10.1.0.1")], a.Addresses);
        // b's first address is IPv4, so b -> a is decided on 10.1.0.2 -> 10.1.0.1: outside the v6 block.
        Assert.False(Analysis.Reachability.Allows(b, a, Protocol.Tcp, 80));
        // c is excepted; a -> c and c -> b are not restricted.
        Assert.False(Analysis.Reachability.Allows(c, a, Protocol.Tcp, 80));
        Assert.True(a.Ingress.Allows(IPAddress.Parse("fd00::2"), Protocol.Tcp, 80));
        Assert.True(Analysis.Reachability.Allows(a, c, Protocol.Tcp, 80));
        Assert.True(Analysis.Reachability.Allows(c, b, Protocol.Tcp, 80));
    }

    [Fact]
    public void LabelChurnAcrossManyPolicyCombinations_StaysEqualToAFreshCompile()
    {
        // 8 policies, each selecting pods with its own label: 256 possible selecting sets, enough to make the
        // compiler drop the shared profiles no pod holds any more.
        var policies = Enumerable.Range(0, 8)
            .Select(i => Np("x", $"p{i}", Select($"p{i}=yes"), ingress: [Rule([PodPeer($"peer{i}=yes")], [TcpPort(80 + i)])]))
            .ToArray();
        var compiler = Compile(policies);
        var random = new Random(5);
        for (var step = 0; step < 300; step++)
        {
            var name = Build.Pod("x", $"w{step % 5}", $"10.0.1.{100 + step % 5}").Name;
            var labels = Enumerable.Range(0, 8).Where(_ => random.Next(2) == 0).Select(i => $"p{i}=yes")
                .Concat(Enumerable.Range(0, 8).Where(_ => random.Next(3) == 0).Select(i => $"peer{i}=yes")).ToArray();
            compiler.UpsertPod(Build.Pod("x", name, $"10.0.1.{100 + step % 5}", labels));
        }
        var fresh = PolicyCompiler.Create(Namespaces(), compiler.Pods, policies);
        foreach (var (id, endpoint) in fresh.Endpoints)
        {
            var incremental = compiler.Get(id)!;
            Assert.Equal(endpoint.Ingress.IsolatedBy, incremental.Ingress.IsolatedBy);
            Assert.Equal(endpoint.Ingress.Rules.Select(r => r.Origin), incremental.Ingress.Rules.Select(r => r.Origin));
            foreach (var rule in endpoint.Ingress.Rules.Zip(incremental.Ingress.Rules))
                Assert.Equal(rule.First.Peers!.Select(p => p.Network.ToString()).Order(), rule.Second.Peers!.Select(p => p.Network.ToString()).Order());
        }
    }
}
