using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Patronus.Agent.Services;
using Patronus.Kubernetes.Kinds;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Deploy;

/// <summary>
/// deploy/'s RBAC (the ClusterRole, and the Role in kube-system) against what each feature asks of the API server:
/// every need is granted, every grant is some feature's need (no '*', nothing broader), and every rule says in a
/// comment which feature needs it.
/// </summary>
public sealed partial class RbacCoversFeaturesTests
{
    /// <param name="KubeSystemOnly">Needed in the agent's own namespace only: granted by the Role, never cluster-wide.</param>
    public sealed record Need(string Feature, string Group, string Resource, string Verb, bool KubeSystemOnly = false)
    {
        public override string ToString() => $"{Feature}: {Verb} {Group}/{Resource}{(KubeSystemOnly ? " in kube-system" : "")}";
    }

    private static readonly string[] Read = ["get", "list", "watch"];
    /// <summary>The import writer creates, replaces (PUT) and removes what it owns; statuses it patches (below).</summary>
    private static readonly string[] Write = ["create", "update", "delete"];

    private static IEnumerable<Need> Reads(string feature, string group, params string[] resources) =>
        resources.SelectMany(r => Read.Select(v => new Need(feature, group, r, v)));

    /// <summary>What each feature asks of the API server.</summary>
    public static readonly IReadOnlyList<Need> FeatureNeeds =
    [
        // Policy: what NetworkPolicy selects and the policies themselves.
        .. Reads("policy", "", "pods", "namespaces"),
        .. Reads("policy", "networking.k8s.io", "networkpolicies"),
        // Routes: every Node's pod ranges and addresses.
        .. Reads("routes", "", "nodes"),
        // Mesh: the gateway label and gateways' addresses on Nodes.
        .. Reads("mesh", "", "nodes"),
        // Paths: pods' QoS annotations.
        .. Reads("paths", "", "pods"),
        // Services (KEP-1645): exports read, imports and their EndpointSlices written by one elected agent.
        .. Reads("services", "multicluster.x-k8s.io", "serviceexports", "serviceimports"),
        .. Reads("services", "", "services", "namespaces"),
        .. Reads("services", "discovery.k8s.io", "endpointslices"),
        .. Write.Select(v => new Need("services", "multicluster.x-k8s.io", "serviceimports", v)),
        .. Write.Select(v => new Need("services", "discovery.k8s.io", "endpointslices", v)),
        .. new[] { "get", "create", "update" }.Select(v => new Need("services", "coordination.k8s.io", "leases", v, KubeSystemOnly: true)),
        // Services: the writer keeps each ServiceExport's conditions and each ServiceImport's status.clusters, through
        // the status subresource of the MCS CRDs (a JSON merge patch: the rest of the object is not the writer's).
        new Need("services", "multicluster.x-k8s.io", "serviceexports/status", "patch"),
        new Need("services", "multicluster.x-k8s.io", "serviceimports/status", "patch"),
    ];

    /// <summary>Every kind the cluster sync lists and watches (whichever feature subscribes to it).</summary>
    public static IEnumerable<Need> ClusterSyncNeeds() =>
        ResourceKinds.All.SelectMany(k => Read.Select(v => new Need($"cluster sync ({k.Kind})", k.Group, k.Plural, v)));

    public static TheoryData<string> Features() => new(FeatureNeeds.Select(n => n.Feature).Distinct());

    private static readonly string DeployDirectory = Checkout.PathOf("deploy");

    private static List<object> LoadAll() =>
        Directory.GetFiles(DeployDirectory, "*.yaml").Order()
            .SelectMany(file => KubernetesYaml.LoadAllFromFileAsync(file, strict: true).GetAwaiter().GetResult())
            .ToList();

    private sealed record Grant(string Role, string Group, string Resource, string Verb, bool ClusterWide);

    /// <summary>Each (group, resource, verb) the agent's service account is given, through a binding to it.</summary>
    private static List<Grant> Grants()
    {
        var objects = LoadAll();
        bool BoundToAgent(V1RoleRef roleRef, IList<Rbacv1Subject> subjects, string kind, string name) =>
            roleRef.Kind == kind && roleRef.Name == name
            && subjects.Any(s => s is { Kind: "ServiceAccount", Name: "patronus-agent", NamespaceProperty: "kube-system" });
        var grants = new List<Grant>();
        foreach (var role in objects.OfType<V1ClusterRole>())
        {
            Assert.Contains(objects.OfType<V1ClusterRoleBinding>(), b => BoundToAgent(b.RoleRef, b.Subjects, "ClusterRole", role.Metadata.Name));
            grants.AddRange(Expand($"ClusterRole/{role.Metadata.Name}", role.Rules, clusterWide: true));
        }
        foreach (var role in objects.OfType<V1Role>())
        {
            Assert.Equal("kube-system", role.Metadata.NamespaceProperty);
            Assert.Contains(objects.OfType<V1RoleBinding>(), b => b.Metadata.NamespaceProperty == "kube-system" && BoundToAgent(b.RoleRef, b.Subjects, "Role", role.Metadata.Name));
            grants.AddRange(Expand($"Role/{role.Metadata.Name}", role.Rules, clusterWide: false));
        }
        return grants;
    }

    private static IEnumerable<Grant> Expand(string role, IEnumerable<V1PolicyRule> rules, bool clusterWide)
    {
        foreach (var rule in rules)
        {
            Assert.True(rule.NonResourceURLs is null or { Count: 0 }, $"{role} grants non-resource URLs");
            // A name narrows a rule to what the agent knows by name: the import writer's Lease, and nothing else.
            Assert.True(rule.ResourceNames is null or { Count: 0 } || (rule.Resources.SequenceEqual(["leases"]) && rule.ResourceNames.SequenceEqual([new ServicesOptions().LeaseName])),
                $"{role}: a rule limited to names the agent does not know");
            foreach (var group in rule.ApiGroups)
                foreach (var resource in rule.Resources)
                    foreach (var verb in rule.Verbs)
                        yield return new Grant(role, group, resource, verb, clusterWide);
        }
    }

    private static bool Covers(IEnumerable<Grant> grants, Need need) =>
        grants.Any(g => g.Group == need.Group && g.Resource == need.Resource && g.Verb == need.Verb && (need.KubeSystemOnly || g.ClusterWide));

    [Theory]
    [MemberData(nameof(Features))]
    public void EveryNeedOfTheFeature_IsGranted(string feature)
    {
        var grants = Grants();
        var missing = FeatureNeeds.Where(n => n.Feature == feature && !Covers(grants, n)).ToList();
        Assert.True(missing.Count == 0, "not granted:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void EveryKindTheClusterSyncWatches_IsReadableClusterWide()
    {
        var grants = Grants();
        var missing = ClusterSyncNeeds().Where(n => !Covers(grants, n)).ToList();
        Assert.True(missing.Count == 0, "not granted:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void EveryGrant_IsSomeFeaturesNeed_AndNoneIsAWildcard()
    {
        var needs = FeatureNeeds.Concat(ClusterSyncNeeds()).ToList();
        var grants = Grants();
        Assert.NotEmpty(grants);
        var unneeded = grants.Where(g => !needs.Any(n => n.Group == g.Group && n.Resource == g.Resource && n.Verb == g.Verb)).ToList();
        Assert.True(unneeded.Count == 0, "granted without a feature needing it:\n" + string.Join("\n", unneeded));
        Assert.DoesNotContain(grants, g => g.Group == "*" || g.Resource.Contains('*') || g.Verb == "*");
        // What is needed in kube-system only is not granted cluster-wide.
        var local = needs.Where(n => n.KubeSystemOnly).Select(n => (n.Group, n.Resource)).ToHashSet();
        Assert.DoesNotContain(grants, g => g.ClusterWide && local.Contains((g.Group, g.Resource)));
        // Nothing that would let the agent read secrets or change workloads, whatever a feature claims.
        Assert.DoesNotContain(grants, g => g.Resource is "secrets" or "configmaps" or "pods" && g.Verb is not ("get" or "list" or "watch"));
        Assert.DoesNotContain(grants, g => g.Resource == "secrets");
    }

    [Fact]
    public void TheImportWritersLease_IsRenewedByName_InTheNamespaceTheAgentUses()
    {
        var options = new ServicesOptions();
        var objects = LoadAll();
        var role = Assert.Single(objects.OfType<V1Role>());
        Assert.Equal(options.LeaseNamespace, role.Metadata.NamespaceProperty);
        var named = Assert.Single(role.Rules, r => r.ResourceNames is { Count: > 0 });
        Assert.Equal([options.LeaseName], named.ResourceNames);
        Assert.Equal(["get", "update"], named.Verbs.Order());
        // Only create goes unnamed: the API server cannot check a name on create.
        Assert.All(role.Rules.Where(r => r.Resources.Contains("leases") && r.ResourceNames is null or { Count: 0 }), r => Assert.Equal(["create"], r.Verbs));
    }

    [GeneratedRegex(@"^\s*- apiGroups:")]
    private static partial Regex RuleStart();

    [GeneratedRegex(@"^\s*#.*\b(policy|routes|mesh|paths|services)\b")]
    private static partial Regex FeatureComment();

    [Theory]
    [InlineData("clusterrole.yaml")]
    [InlineData("role.yaml")]
    public void EveryRule_SaysWhichFeatureNeedsIt(string file)
    {
        var lines = File.ReadAllLines(Path.Combine(DeployDirectory, file));
        var rules = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (!RuleStart().IsMatch(lines[i]))
                continue;
            rules++;
            // The comment lines right above the rule.
            var comments = lines.Take(i).Reverse().TakeWhile(l => l.TrimStart().StartsWith('#')).ToList();
            Assert.True(comments.Any(l => FeatureComment().IsMatch(l)), $"{file} line {i + 1}: the rule has no comment naming the feature that needs it");
        }
        Assert.True(rules > 0, $"{file} holds no rule");
    }
}
