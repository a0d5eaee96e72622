using Patronus.Policy.Analysis;
using Patronus.Policy.Compiled;
using Patronus.Policy.Compiler;
using Patronus.Policy.Model;
using Patronus.Policy.Tests.Support;

namespace Patronus.Policy.Tests;

/// <summary>
/// Random clusters and policies: every decision of the compiled form (pod to pod, and egress to addresses
/// outside the cluster) must equal the direct reading of the spec in <see cref="SpecOracle"/>, after a full
/// compile and after every incremental update.
/// </summary>
public class CompiledAgainstSpecPropertyTests
{
    public static IEnumerable<object[]> Seeds() => Enumerable.Range(1, 40).Select(i => new object[] { i * 7919 });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FullCompile_AgreesWithTheSpec(int seed)
    {
        for (var round = 0; round < 10; round++)
        {
            var cluster = new RandomCluster(seed + round).Generate();
            var compiler = PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
            AssertAgrees(compiler, new SpecOracle(cluster.Namespaces, cluster.Pods, cluster.Policies), $"seed {seed + round}");
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void IncrementalUpdates_AgreeWithTheSpec_AndReportExactlyWhatChanged(int seed)
    {
        var cluster = new RandomCluster(seed).Generate();
        var compiler = PolicyCompiler.Create(cluster.Namespaces, cluster.Pods, cluster.Policies);
        var namespaces = cluster.Namespaces.ToDictionary(n => n.Name);
        var pods = cluster.Pods.ToDictionary(p => p.Id);
        var policies = cluster.Policies.ToDictionary(p => p.Key);
        var policyCount = policies.Count;

        for (var step = 0; step < 25; step++)
        {
            var before = compiler.Endpoints.ToDictionary();
            PolicyChanges changes;
            string what;
            switch (cluster.Next(8))
            {
                case 0 when pods.Count > 0:
                {
                    var pod = cluster.Relabel(cluster.Pick(pods.Values.ToList()));
                    pods[pod.Id] = pod;
                    changes = compiler.UpsertPod(pod);
                    what = $"relabel {pod.Id}";
                    break;
                }
                case 1 when pods.Count > 0:
                {
                    var pod = cluster.Readdress(cluster.Pick(pods.Values.ToList()));
                    pods[pod.Id] = pod;
                    changes = compiler.UpsertPod(pod);
                    what = $"re-address/ports {pod.Id}";
                    break;
                }
                case 2 when pods.Count > 0:
                {
                    var id = cluster.Pick(pods.Keys.ToList());
                    pods.Remove(id);
                    changes = compiler.RemovePod(id.Namespace, id.Name);
                    what = $"remove {id}";
                    break;
                }
                case 3:
                {
                    var pod = cluster.NewPod(cluster.Pick(cluster.NamespaceNames), $"n{step}");
                    pods[pod.Id] = pod;
                    changes = compiler.UpsertPod(pod);
                    what = $"add {pod.Id}";
                    break;
                }
                case 4:
                {
                    var ns = cluster.NewNamespace(cluster.Pick(cluster.NamespaceNames));
                    namespaces[ns.Name] = ns;
                    changes = compiler.UpsertNamespace(ns);
                    what = $"relabel namespace {ns.Name}";
                    break;
                }
                case 5 when policies.Count > 0:
                {
                    var key = cluster.Pick(policies.Keys.ToList());
                    var removed = policies[key];
                    policies.Remove(key);
                    changes = compiler.RemovePolicy(removed.Namespace, removed.Name);
                    what = $"remove policy {key}";
                    break;
                }
                case 6 when policies.Count > 0:
                {
                    var old = cluster.Pick(policies.Values.ToList());
                    var updated = cluster.NewPolicy(old.Name) with { Namespace = old.Namespace };
                    policies[updated.Key] = updated;
                    changes = compiler.UpsertPolicy(updated);
                    what = $"update policy {updated.Key}";
                    break;
                }
                default:
                {
                    var policy = cluster.NewPolicy($"pol{policyCount++}");
                    policies[policy.Key] = policy;
                    changes = compiler.UpsertPolicy(policy);
                    what = $"add policy {policy.Key}";
                    break;
                }
            }
            var context = $"seed {seed}, step {step}: {what}";
            AssertAgrees(compiler, new SpecOracle(namespaces.Values.ToList(), pods.Values.ToList(), policies.Values.ToList()), context);

            // Reported: exactly the endpoints whose compiled form differs; everything else is untouched.
            var after = compiler.Endpoints;
            var expectedChanged = after.Where(e => !before.TryGetValue(e.Key, out var old) || !CompiledEquality.Same(old, e.Value)).Select(e => e.Key).ToHashSet();
            var expectedRemoved = before.Keys.Where(k => !after.ContainsKey(k)).ToHashSet();
            Assert.True(expectedChanged.SetEquals(changes.Changed), $"{context}: changed {string.Join(",", changes.Changed)} expected {string.Join(",", expectedChanged)}");
            Assert.True(expectedRemoved.SetEquals(changes.Removed), $"{context}: removed {string.Join(",", changes.Removed)}");
            foreach (var (id, endpoint) in after)
                if (!expectedChanged.Contains(id))
                    Assert.Same(before[id], endpoint);
        }
    }

    private static void AssertAgrees(PolicyCompiler compiler, SpecOracle oracle, string context)
    {
        var participants = oracle.Participants.ToList();
        Assert.Equal(participants.Select(p => p.Id).ToHashSet(), compiler.Endpoints.Keys.ToHashSet());
        foreach (var from in participants)
        {
            var compiledFrom = compiler.Get(from.Id)!;
            foreach (var (port, protocol) in RandomCluster.Probes)
            {
                foreach (var to in participants)
                {
                    var expected = oracle.Allowed(from, to, protocol, port);
                    var compiledTo = compiler.Get(to.Id)!;
                    var actual = Reachability.Allows(compiledFrom, compiledTo, protocol, port);
                    if (expected != actual)
                        Assert.Fail($"{context}: {from.Id} -> {to.Id} on {port}/{protocol}: compiled says {actual}, spec says {expected}");
                    // The indexed lookup must agree with the contract's own DirectionPolicy.Allows.
                    var (fromAddress, toAddress) = Reachability.AddressPair(compiledFrom, compiledTo);
                    if (fromAddress is not null && toAddress is not null)
                    {
                        Assert.Equal(compiledFrom.Egress.Allows(toAddress, protocol, port), Reachability.Allows(compiledFrom.Egress, toAddress, protocol, port));
                        Assert.Equal(compiledTo.Ingress.Allows(fromAddress, protocol, port), Reachability.Allows(compiledTo.Ingress, fromAddress, protocol, port));
                        var explained = Reachability.Explain(compiledFrom, compiledTo, protocol, port);
                        Assert.Equal(actual, explained.Allowed);
                    }
                }
                foreach (var address in RandomCluster.ExternalAddresses)
                {
                    var expected = oracle.EgressAllows(from, address, null, protocol, port);
                    var actual = compiledFrom.Egress.Allows(address, protocol, port);
                    if (expected != actual)
                        Assert.Fail($"{context}: {from.Id} egress to {address} on {port}/{protocol}: compiled says {actual}, spec says {expected}");
                    var expectedIn = oracle.IngressAllows(from, address, null, protocol, port);
                    var actualIn = compiledFrom.Ingress.Allows(address, protocol, port);
                    if (expectedIn != actualIn)
                        Assert.Fail($"{context}: {from.Id} ingress from {address} on {port}/{protocol}: compiled says {actualIn}, spec says {expectedIn}");
                }
            }
        }
    }
}
