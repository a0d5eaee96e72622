using System.Net;
using k8s.Models;
using Patronus.Agent.Services.ClusterSetIp;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Services.Exports;
using Patronus.Agent.Services.Import;
using Patronus.Agent.Services.Model;
using Patronus.Kubernetes.Kinds.Multicluster;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>From a cluster's objects to its exports, from everyone's exports to the imports, and back from the imports to the VIPs.</summary>
public sealed class ImportPlanTests
{
    private static readonly ClusterSetIpAllocator Allocator = ClusterSetIpAllocator.Parse("10.112.0.0/16");

    private static IReadOnlySet<string> All(ServiceKey _) => new HashSet<string> { "aws", "gcp", "onprem" };

    private static V1Service Service(string name, string? clusterIp = null, string type = "ClusterIP", string? affinity = null, params V1ServicePort[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        Spec = new V1ServiceSpec { Type = type, ClusterIP = clusterIp, SessionAffinity = affinity, Ports = ports.Length > 0 ? ports : [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080 }] },
    };

    private static V1Alpha1ServiceExport ServiceExport(string name, int minute) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", CreationTimestamp = new DateTime(2026, 1, 1, 0, minute, 0, DateTimeKind.Utc) },
    };

    private static V1EndpointSlice Slice(string service, string managedBy, params (string Address, bool? Ready)[] endpoints) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"{service}-x",
            NamespaceProperty = "shop",
            Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service, ["endpointslice.kubernetes.io/managed-by"] = managedBy },
        },
        AddressType = "IPv4",
        Ports = [new Discoveryv1EndpointPort { Name = "http", Protocol = "TCP", Port = 8081 }],
        Endpoints = endpoints.Select(e => new V1Endpoint { Addresses = [e.Address], Conditions = e.Ready is null ? null : new V1EndpointConditions { Ready = e.Ready } }).ToList(),
    };

    [Fact]
    public void LocalExports_TakeReadyEndpoints_AndTheSlicesTargetPort_AndNeverReexportImports()
    {
        var exports = LocalExports.From("aws", [ServiceExport("web", 1), ServiceExport("gone", 2)], [Service("web", affinity: "ClientIP")],
            [Slice("web", "endpointslice-controller.k8s.io", ("10.244.1.2", true), ("10.244.1.3", false), ("10.244.1.4", null)), Slice("web", ImportedObjects.ManagedBy, ("10.248.0.2", true))]);

        var web = exports.Single(e => e.Service.Name == "web");
        Assert.Equal(["10.244.1.2", "10.244.1.4"], web.Endpoints.Select(e => e.Addresses[0].ToString()));
        Assert.Equal(8081, Assert.Single(web.Spec!.Ports).TargetPort);
        Assert.Equal(SessionAffinity.ClientIP, web.Spec.SessionAffinity);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 1, 0, TimeSpan.Zero), web.ExportCreated);
        Assert.Null(exports.Single(e => e.Service.Name == "gone").Spec);
    }

    [Theory]
    [InlineData("None", "ClusterIP", ExportedServiceType.Headless)]
    [InlineData(null, "ExternalName", ExportedServiceType.ExternalName)]
    [InlineData("10.96.0.10", "ClusterIP", ExportedServiceType.ClusterSetIP)]
    public void LocalExports_TellTheServiceType(string? clusterIp, string type, ExportedServiceType expected)
    {
        var export = Assert.Single(LocalExports.From("aws", [ServiceExport("web", 1)], [Service("web", clusterIp, type)], []));

        Assert.Equal(expected, export.Spec!.Type);
    }

    [Fact]
    public void Plan_WithdrawsTheEndpointsOfADeadCluster_ButKeepsItsSliceAndTheVip()
    {
        var exports = new[] { Export("aws", 1, endpoints: [Endpoint("10.244.1.2")]), Export("gcp", 2, endpoints: [Endpoint("10.248.0.2")]) };

        var plan = ImportPlan.Make(exports, c => c != "gcp", _ => true, [], [], Allocator, All);

        var import = Assert.Single(plan.Imports);
        Assert.Single(import.Spec!.Ips!);
        Assert.Equal(2, plan.Slices.Count);
        var view = Assert.Single(ImportedView.From(plan.Imports, plan.Slices));
        var vip = Assert.Single(ClusterSetVip.From(view.Service, view.ClusterSetIps));
        Assert.Equal(["aws 10.244.1.2:8080"], vip.Backends.Select(b => b.ToString()));
    }

    [Fact]
    public void Plan_KeepsTheVipAnImportHolds_AndRemovesWhatNoExportWants()
    {
        var exports = new[] { Export("aws", 1, endpoints: [Endpoint("10.244.1.2")]) };
        var first = ImportPlan.Make(exports, _ => true, _ => true, [], [], Allocator, All);
        var held = first.Imports[0];
        held.Spec!.Ips = ["10.112.7.7"];
        var staleSlice = ImportedObjects.EndpointSlices(first.Merged[Web] with { Exports = [Export("gcp", 2)] })[0];

        var again = ImportPlan.Make(exports, _ => true, _ => true, [held], [.. first.Slices, staleSlice], Allocator, All);
        Assert.Equal(["10.112.7.7"], again.Imports[0].Spec!.Ips!);
        Assert.Equal([new ObjectRef("EndpointSlice", "shop", staleSlice.Metadata.Name)], again.Removals);

        var none = ImportPlan.Make([], _ => true, _ => true, [held], first.Slices.ToList(), Allocator, All);
        Assert.Empty(none.Imports);
        Assert.Equal(["ServiceImport", "EndpointSlice"], none.Removals.Select(r => r.Kind));
    }

    [Fact]
    public void Plan_MakesNoImportWhereTheNamespaceIsMissing_ButStillGivesConditions()
    {
        var plan = ImportPlan.Make([Export("aws", 1)], _ => true, ns => ns != "shop", [], [], Allocator, All);

        Assert.Empty(plan.Imports);
        Assert.Contains(plan.Conditions[Web]["aws"], c => c.Type == "Valid");
    }

    [Fact]
    public void View_SendsAPortOnlyToTheClustersExposingIt_WithTheirTargetPorts()
    {
        var exports = new[]
        {
            Export("aws", 1, ports: [Port("http", 80, target: 8080)], endpoints: [Endpoint("10.244.1.2")]),
            Export("gcp", 2, ports: [Port("http", 80, target: 9090), Port("admin", 81, target: 9091)], endpoints: [Endpoint("10.248.0.2")]),
        };
        var plan = ImportPlan.Make(exports, _ => true, _ => true, [], [], Allocator, All);

        var view = Assert.Single(ImportedView.From(plan.Imports, plan.Slices));
        var vips = ClusterSetVip.From(view.Service, view.ClusterSetIps).ToDictionary(v => v.Port);

        Assert.Equal(["aws 10.244.1.2:8080", "gcp 10.248.0.2:9090"], vips[80].Backends.Select(b => b.ToString()).Order());
        Assert.Equal(["gcp 10.248.0.2:9091"], vips[81].Backends.Select(b => b.ToString()));
        Assert.Contains(plan.Conditions[Web]["aws"], c => c.Type == "Conflict" && c.Reason == "PortConflict");
    }
}
