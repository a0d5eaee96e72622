using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>KEP-1645's constraints and conflict resolution, rule by rule, on the exports of several clusters.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServiceMergerTests
{
    private static MergedService Merge(params ClusterExport[] exports) => ServiceMerger.Merge(exports, out _)!;

    private static ExportCondition Condition(MergedService merged, string cluster, string type) => merged.Conditions[cluster].Single(c => c.Type == type);

    [Fact]
    public void IdenticalExports_MergeWithoutConflict_AllValidReadyAndNoConflicts()
    {
        var merged = Merge(Export("b", 1), Export("a", 2));

        Assert.Equal(ExportedServiceType.ClusterSetIP, merged.Type);
        var port = Assert.Single(merged.Ports);
        Assert.Equal(("http", "TCP", 80), (port.Name, port.Protocol, port.Port));
        Assert.Equal(["b", "a"], port.Clusters);
        Assert.Equal(["b", "a"], merged.Clusters);
        foreach (var cluster in new[] { "a", "b" })
        {
            Assert.Equal(new ExportCondition("Valid", ConditionStatus.True, "Valid", ""), Condition(merged, cluster, "Valid"));
            Assert.Equal((ConditionStatus.True, "Exported"), (Condition(merged, cluster, "Ready").Status, Condition(merged, cluster, "Ready").Reason));
            Assert.Equal(new ExportCondition("Conflict", ConditionStatus.False, "NoConflicts", ""), Condition(merged, cluster, "Conflict"));
        }
    }

    [Fact]
    public void ExtraPorts_AreTheUnion_EachOnlyToTheClustersExposingIt_AndConflictOnEveryExport()
    {
        var merged = Merge(
            Export("a", 1, [Port("http", 80)]),
            Export("b", 2, [Port("http", 80), Port("metrics", 9090)]));

        Assert.Equal(["http", "metrics"], merged.Ports.Select(p => p.Name));
        Assert.Equal(["a", "b"], merged.Ports[0].Clusters);
        Assert.Equal(["b"], merged.Ports[1].Clusters);
        foreach (var cluster in new[] { "a", "b" })
        {
            var conflict = Condition(merged, cluster, "Conflict");
            Assert.Equal((ConditionStatus.True, "PortConflict"), (conflict.Status, conflict.Reason));
            Assert.Contains("cluster a has the oldest export", conflict.Message);
            Assert.Contains("ports", conflict.Message);
        }
    }

    [Fact]
    public void SamePortName_WithAnotherNumber_OldestWins_AndTheNewerClusterGetsNoTrafficOnIt()
    {
        var merged = Merge(
            Export("new", 5, [Port("http", 8080)]),
            Export("old", 1, [Port("http", 80)]));

        var port = Assert.Single(merged.Ports);
        Assert.Equal((80, "old"), (port.Port, string.Join(",", port.Clusters)));
        Assert.Equal("PortConflict", Condition(merged, "new", "Conflict").Reason);
        Assert.Contains("cluster old has the oldest export", Condition(merged, "new", "Conflict").Message);
    }

    [Fact]
    public void SamePortName_WithAnotherProtocol_OldestWins()
    {
        var merged = Merge(Export("a", 1, [Port("dns", 53, "UDP")]), Export("b", 2, [Port("dns", 53, "TCP")]));

        var port = Assert.Single(merged.Ports);
        Assert.Equal(("UDP", "a"), (port.Protocol, string.Join(",", port.Clusters)));
        Assert.Equal("PortConflict", Condition(merged, "b", "Conflict").Reason);
    }

    [Fact]
    public void SamePortName_WithAnotherAppProtocol_OldestWins()
    {
        var merged = Merge(Export("a", 1, [Port("web", 80, appProtocol: "http")]), Export("b", 2, [Port("web", 80, appProtocol: "kubernetes.io/h2c")]));

        var port = Assert.Single(merged.Ports);
        Assert.Equal(("http", "a"), (port.AppProtocol, string.Join(",", port.Clusters)));
        Assert.Equal("PortConflict", Condition(merged, "a", "Conflict").Reason);
    }

    [Fact]
    public void SameProtocolAndPort_UnderAnotherName_OldestWins()
    {
        var merged = Merge(Export("a", 1, [Port("http", 80)]), Export("b", 2, [Port("web", 80)]));

        var port = Assert.Single(merged.Ports);
        Assert.Equal(("http", "a"), (port.Name, string.Join(",", port.Clusters)));
        Assert.Equal("PortConflict", Condition(merged, "b", "Conflict").Reason);
    }

    [Fact]
    public void SameNumber_OnAnotherProtocol_IsAnotherPort()
    {
        var merged = Merge(Export("a", 1, [Port("dns", 53, "UDP"), Port("dns-tcp", 53, "TCP")]), Export("b", 2, [Port("dns", 53, "UDP"), Port("dns-tcp", 53, "TCP")]));

        Assert.Equal(["dns", "dns-tcp"], merged.Ports.Select(p => p.Name));
        Assert.Equal("NoConflicts", Condition(merged, "a", "Conflict").Reason);
    }

    [Fact]
    public void UnnamedPorts_AreOneNameToo()
    {
        var merged = Merge(Export("a", 1, [Port("", 80)]), Export("b", 2, [Port("", 8080)]));

        var port = Assert.Single(merged.Ports);
        Assert.Equal((80, "a"), (port.Port, string.Join(",", port.Clusters)));
        Assert.Equal("PortConflict", Condition(merged, "b", "Conflict").Reason);
    }

    [Fact]
    public void TargetPorts_MayDifferBetweenClusters_WithoutConflict()
    {
        var merged = Merge(Export("a", 1, [Port("http", 80, target: 8080)]), Export("b", 2, [Port("http", 80, target: 9090)]));

        Assert.Equal("NoConflicts", Condition(merged, "a", "Conflict").Reason);
        Assert.Equal(["a", "b"], merged.Ports[0].Clusters);
    }

    [Theory]
    [InlineData(ExportedServiceType.Headless, ExportedServiceType.ClusterSetIP)]
    [InlineData(ExportedServiceType.ClusterSetIP, ExportedServiceType.Headless)]
    public void HeadlessAgainstClusterSetIp_OldestWins_TypeConflict(ExportedServiceType oldest, ExportedServiceType newer)
    {
        var merged = Merge(Export("newer", 2, type: newer), Export("oldest", 1, type: oldest));

        Assert.Equal(oldest, merged.Type);
        Assert.Equal("TypeConflict", Condition(merged, "newer", "Conflict").Reason);
        Assert.Equal("TypeConflict", Condition(merged, "oldest", "Conflict").Reason);
        Assert.Contains("type", Condition(merged, "oldest", "Conflict").Message);
    }

    [Fact]
    public void SessionAffinity_OldestWins_SessionAffinityConflict()
    {
        var merged = Merge(Export("a", 1, affinity: SessionAffinity.ClientIP, timeout: 60), Export("b", 2));

        Assert.Equal((SessionAffinity.ClientIP, 60), (merged.SessionAffinity, merged.AffinityTimeoutSeconds));
        Assert.Equal("SessionAffinityConflict", Condition(merged, "b", "Conflict").Reason);
    }

    [Fact]
    public void SessionAffinityTimeout_OldestWins_SessionAffinityConfigConflict()
    {
        var merged = Merge(Export("a", 2, affinity: SessionAffinity.ClientIP, timeout: 60), Export("b", 1, affinity: SessionAffinity.ClientIP));

        Assert.Equal(ExportedServiceSpec.DefaultAffinityTimeoutSeconds, merged.AffinityTimeoutSeconds);
        Assert.Equal("SessionAffinityConfigConflict", Condition(merged, "a", "Conflict").Reason);
    }

    [Fact]
    public void SessionAffinityTimeout_OfServicesWithoutAffinity_IsNoConflict()
    {
        var merged = Merge(Export("a", 1, timeout: 60), Export("b", 2, timeout: 30));

        Assert.Equal((SessionAffinity.None, 0), (merged.SessionAffinity, merged.AffinityTimeoutSeconds));
        Assert.Equal("NoConflicts", Condition(merged, "a", "Conflict").Reason);
    }

    [Fact]
    public void IpFamilies_OldestWins_IPFamilyConflict()
    {
        var merged = Merge(Export("a", 1, families: [IpFamily.IPv6, IpFamily.IPv4]), Export("b", 2, families: [IpFamily.IPv4]));

        Assert.Equal([IpFamily.IPv6, IpFamily.IPv4], merged.IpFamilies);
        Assert.Equal("IPFamilyConflict", Condition(merged, "b", "Conflict").Reason);
    }

    [Fact]
    public void IpFamilies_InAnotherOrder_AreNoConflict()
    {
        var merged = Merge(Export("a", 1, families: [IpFamily.IPv6, IpFamily.IPv4]), Export("b", 2, families: [IpFamily.IPv4, IpFamily.IPv6]));

        Assert.Equal("NoConflicts", Condition(merged, "b", "Conflict").Reason);
    }

    [Fact]
    public void SeveralConflicts_AreJoinedWithCommas_InTheApisOrder()
    {
        var merged = Merge(
            Export("a", 1, [Port("http", 80)], ExportedServiceType.Headless, SessionAffinity.ClientIP, families: [IpFamily.IPv4]),
            Export("b", 2, [Port("http", 81)], ExportedServiceType.ClusterSetIP, SessionAffinity.None, families: [IpFamily.IPv6]));

        Assert.Equal("PortConflict,TypeConflict,SessionAffinityConflict,IPFamilyConflict", Condition(merged, "b", "Conflict").Reason);
        Assert.Matches(@"^ports, type, sessionAffinity, ipFamilies differ", Condition(merged, "b", "Conflict").Message);
    }

    [Fact]
    public void SameCreationTimestamp_TheClusterNameBreaksTheTie()
    {
        var merged = Merge(Export("zeta", 1, [Port("http", 8080)]), Export("alpha", 1, [Port("http", 80)]));

        Assert.Equal(80, Assert.Single(merged.Ports).Port);
        Assert.Equal(["alpha", "zeta"], merged.Clusters);
        Assert.Contains("cluster alpha has the oldest export", Condition(merged, "zeta", "Conflict").Message);
    }

    [Fact]
    public void ExternalName_IsValidFalse_InvalidServiceType_AndTakesNoPart()
    {
        var merged = ServiceMerger.Merge([Export("a", 1, type: ExportedServiceType.ExternalName), Export("b", 2, [Port("grpc", 9000)])], out var invalid)!;

        Assert.Equal(["b"], merged.Clusters);
        Assert.Equal("grpc", Assert.Single(merged.Ports).Name);
        Assert.Equal("NoConflicts", Condition(merged, "b", "Conflict").Reason);
        var valid = merged.Conditions["a"].Single(c => c.Type == "Valid");
        Assert.Equal((ConditionStatus.False, "InvalidServiceType"), (valid.Status, valid.Reason));
        Assert.Contains("ExternalName", valid.Message);
        Assert.Equal((ConditionStatus.False, "Failed"), (merged.Conditions["a"].Single(c => c.Type == "Ready").Status, merged.Conditions["a"].Single(c => c.Type == "Ready").Reason));
        Assert.DoesNotContain(merged.Conditions["a"], c => c.Type == "Conflict");
        Assert.Same(invalid["a"], merged.Conditions["a"]);
    }

    [Fact]
    public void ExportWithoutService_IsValidFalse_NoService()
    {
        var merged = ServiceMerger.Merge([Missing("a", 1)], out var invalid);

        Assert.Null(merged);
        var valid = invalid["a"].Single(c => c.Type == "Valid");
        Assert.Equal((ConditionStatus.False, "NoService"), (valid.Status, valid.Reason));
    }

    [Fact]
    public void NoValidExport_MergesToNothing()
    {
        Assert.Null(ServiceMerger.Merge([Export("a", 1, type: ExportedServiceType.ExternalName)], out var invalid));
        Assert.Null(ServiceMerger.Merge([], out invalid));
        Assert.Empty(invalid);
    }

    [Fact]
    public void Ready_IsPending_UntilTheExportIsAnnounced()
    {
        var merged = ServiceMerger.Merge([Export("a", 1), Export("b", 2)], out _, announced: new HashSet<string> { "a" })!;

        Assert.Equal((ConditionStatus.True, "Exported"), (Condition(merged, "a", "Ready").Status, Condition(merged, "a", "Ready").Reason));
        Assert.Equal((ConditionStatus.Unknown, "Pending"), (Condition(merged, "b", "Ready").Status, Condition(merged, "b", "Ready").Reason));
    }

    [Fact]
    public void Backends_OfAPort_AreTheEndpointsOfTheClustersExposingIt_WithTheirTargetPorts()
    {
        var merged = Merge(
            Export("a", 1, [Port("http", 80, target: 8080)], endpoints: [Endpoint("10.1.0.1"), Endpoint("10.1.0.2")]),
            Export("b", 2, [Port("http", 80, target: 9090), Port("admin", 81, target: 9191)], endpoints: [Endpoint("10.2.0.1")]));

        Assert.Equal(["a 10.1.0.1:8080", "a 10.1.0.2:8080", "b 10.2.0.1:9090"],
            merged.Backends(merged.Ports[0]).Select(b => $"{b.Cluster} {b.Endpoint.Addresses[0]}:{b.TargetPort}"));
        Assert.Equal(["b 10.2.0.1:9191"], merged.Backends(merged.Ports[1]).Select(b => $"{b.Cluster} {b.Endpoint.Addresses[0]}:{b.TargetPort}"));
    }

    [Fact]
    public void ExportsOfSeveralServices_OrOneClusterTwice_AreRefused()
    {
        Assert.Contains("several services", Assert.Throws<ArgumentException>(() => ServiceMerger.Merge([Export("a", 1), Export("b", 1, service: new("shop", "db"))], out _)).Message);
        Assert.Contains("cluster 'a' exports shop/web twice", Assert.Throws<ArgumentException>(() => ServiceMerger.Merge([Export("a", 1), Export("a", 2)], out _)).Message);
    }

    [Fact]
    public void Merge_DoesNotDependOnTheOrderExportsArriveIn()
    {
        ClusterExport[] exports =
        [
            Export("a", 3, [Port("http", 80), Port("x", 90)], affinity: SessionAffinity.ClientIP),
            Export("b", 1, [Port("http", 8080), Port("y", 90)], type: ExportedServiceType.Headless),
            Export("c", 2, [Port("z", 80), Port("x", 91)], families: [IpFamily.IPv6]),
        ];
        var reference = Describe(Merge(exports));
        foreach (var permutation in new[] { new[] { 1, 2, 0 }, [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2] })
            Assert.Equal(reference, Describe(Merge(permutation.Select(i => exports[i]).ToArray())));
        // b is oldest: its type and ports first; a's http (name taken) and x:90 (90/TCP taken) are left out; c's z:80 goes (80/TCP free) and x:91 too.
        Assert.Equal("Headless None [IPv4] http:8080[b] y:90[b] z:80[c] x:91[c] PortConflict,TypeConflict,SessionAffinityConflict,IPFamilyConflict", reference);
    }

    private static string Describe(MergedService m) =>
        $"{m.Type} {m.SessionAffinity} [{string.Join(",", m.IpFamilies)}] {string.Join(" ", m.Ports.Select(p => $"{p.Name}:{p.Port}[{string.Join(",", p.Clusters)}]"))} {m.Conditions["a"].Single(c => c.Type == "Conflict").Reason}";
}
