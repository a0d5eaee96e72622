using System.Net;
using k8s.Models;
using Patronus.Agent.Services.Import;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>The ServiceImport and the per-source-cluster EndpointSlices a merged service becomes, and what goes with the last export.</summary>
public sealed class ImportedObjectsTests
{
    private static MergedService Merge(params ClusterExport[] exports) => ServiceMerger.Merge(exports, out _)!;

    [Fact]
    public void ServiceImport_CarriesTheMergedPortsVipsAffinityAndClusters()
    {
        var merged = Merge(
            Export("b", 1, [Port("http", 80, appProtocol: "http"), Port("", 53, "UDP")], affinity: SessionAffinity.ClientIP, timeout: 600, families: [IpFamily.IPv4, IpFamily.IPv6]),
            Export("a", 2, [Port("http", 80, appProtocol: "http")], affinity: SessionAffinity.ClientIP, timeout: 600, families: [IpFamily.IPv4, IpFamily.IPv6]));

        var import = ImportedObjects.ServiceImport(merged, [IPAddress.Parse("10.112.0.7"), IPAddress.Parse("fd00:112::7")]);

        Assert.Equal(("shop", "web", "multicluster.x-k8s.io/v1alpha1", "ServiceImport"), (import.Metadata.NamespaceProperty, import.Metadata.Name, import.ApiVersion, import.Kind));
        Assert.Equal("ClusterSetIP", import.Spec!.Type);
        Assert.Equal(["http 80/TCP http", " 53/UDP "], import.Spec.Ports.Select(p => $"{p.Name} {p.Port}/{p.Protocol} {p.AppProtocol}"));
        Assert.Null(import.Spec.Ports[1].Name);
        Assert.Equal(["10.112.0.7", "fd00:112::7"], import.Spec.Ips!);
        Assert.Equal(["IPv4", "IPv6"], import.Spec.IpFamilies!);
        Assert.Equal(("ClientIP", 600), (import.Spec.SessionAffinity, import.Spec.SessionAffinityConfig!.ClientIP.TimeoutSeconds));
        Assert.Equal(["a", "b"], import.Status!.Clusters!.Select(c => c.Cluster));
    }

    [Fact]
    public void HeadlessImport_HasNoVip()
    {
        var merged = Merge(Export("a", 1, type: ExportedServiceType.Headless));

        var import = ImportedObjects.ServiceImport(merged, []);
        Assert.Equal(("Headless", "None"), (import.Spec!.Type, import.Spec.SessionAffinity));
        Assert.Null(import.Spec.Ips);
        Assert.Null(import.Spec.SessionAffinityConfig);
        Assert.Throws<ArgumentException>(() => ImportedObjects.ServiceImport(merged, [IPAddress.Parse("10.112.0.1")]));
    }

    [Fact]
    public void EndpointSlices_OnePerSourceClusterAndFamily_LabelledAndNotManagedByTheEndpointSliceController()
    {
        var merged = Merge(
            Export("a", 1, [Port("http", 80, target: 8080)], families: [IpFamily.IPv4, IpFamily.IPv6],
                endpoints: [new ReadyEndpoint([IPAddress.Parse("10.1.0.1"), IPAddress.Parse("fd00:1::1")], "web-0"), Endpoint("10.1.0.2", "web-1")]),
            Export("b", 2, [Port("http", 80, target: 9090), Port("admin", 81, target: 9191)], families: [IpFamily.IPv4, IpFamily.IPv6], endpoints: [Endpoint("10.2.0.1")]));

        var slices = ImportedObjects.EndpointSlices(merged);

        Assert.Equal(["a IPv4 10.1.0.1,10.1.0.2", "a IPv6 fd00:1::1", "b IPv4 10.2.0.1"],
            slices.Select(s => $"{s.Metadata.Labels[ImportedObjects.SourceClusterLabel]} {s.AddressType} {string.Join(",", s.Endpoints.SelectMany(e => e.Addresses))}"));
        Assert.All(slices, s =>
        {
            Assert.Equal("shop", s.Metadata.NamespaceProperty);
            Assert.Equal("web", s.Metadata.Labels["multicluster.kubernetes.io/service-name"]);
            Assert.Equal("mcs.patronus.io", s.Metadata.Labels["endpointslice.kubernetes.io/managed-by"]);
            Assert.NotEqual("endpointslice-controller.k8s.io", s.Metadata.Labels["endpointslice.kubernetes.io/managed-by"]);
            Assert.False(s.Metadata.Labels.ContainsKey("kubernetes.io/service-name"));
            Assert.All(s.Endpoints, e => Assert.True(e.Conditions.Ready));
            Assert.True(s.Metadata.Name.Length <= 63);
        });
        Assert.Equal(["web-0", "web-1"], slices[0].Endpoints.Select(e => e.Hostname));
        // Each cluster's slice holds the ports it exposes, with its own target ports.
        Assert.Equal(["http 8080"], slices[0].Ports.Select(p => $"{p.Name} {p.Port}"));
        Assert.Equal(["http 9090", "admin 9191"], slices[2].Ports.Select(p => $"{p.Name} {p.Port}"));
        Assert.Equal(3, slices.Select(s => s.Metadata.Name).Distinct().Count());
    }

    [Fact]
    public void ClusterWithoutReadyEndpoints_KeepsAnEmptySlice()
    {
        var merged = Merge(Export("a", 1, families: [IpFamily.IPv6]));

        var slice = Assert.Single(ImportedObjects.EndpointSlices(merged));
        Assert.Equal(("IPv6", 0), (slice.AddressType, slice.Endpoints.Count));
    }

    [Fact]
    public void SliceNames_StayShortAndDistinct_ForLongNames()
    {
        var service = new ServiceKey("shop", new string('w', 63));
        var a = ImportedObjects.SliceName(service, new string('c', 63), IpFamily.IPv4);
        var b = ImportedObjects.SliceName(service, new string('c', 62) + "d", IpFamily.IPv4);
        Assert.True(a.Length <= 63 && b.Length <= 63);
        Assert.NotEqual(a, b);
        Assert.Equal(a, ImportedObjects.SliceName(service, new string('c', 63), IpFamily.IPv4));
    }

    [Fact]
    public void UnexportFromOneCluster_RemovesOnlyItsSlices()
    {
        var before = ImportedObjects.EndpointSlices(Merge(Export("a", 1, endpoints: [Endpoint("10.1.0.1")]), Export("b", 2, endpoints: [Endpoint("10.2.0.1")])));
        var after = ImportedObjects.EndpointSlices(Merge(Export("a", 1, endpoints: [Endpoint("10.1.0.1")])));

        var stale = ImportedObjects.Stale(Web, before, after);
        Assert.Equal(["b"], stale.Select(s => s.Metadata.Labels[ImportedObjects.SourceClusterLabel]));
    }

    [Fact]
    public void LastExportGone_RemovesEverySliceOfTheService_AndNothingElse()
    {
        var ours = ImportedObjects.EndpointSlices(Merge(Export("a", 1, endpoints: [Endpoint("10.1.0.1")]), Export("b", 2, endpoints: [Endpoint("10.2.0.1")])));
        var otherService = ImportedObjects.EndpointSlices(Merge(Export("a", 1, service: new ServiceKey("shop", "db"))));
        var local = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = "web-abcde", NamespaceProperty = "shop",
                Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "web", [ImportedObjects.ManagedByLabel] = "endpointslice-controller.k8s.io", [ImportedObjects.ServiceNameLabel] = "web" },
            },
        };

        var merged = ServiceMerger.Merge([Export("a", 1, type: ExportedServiceType.ExternalName)], out _);
        Assert.Null(merged);
        var stale = ImportedObjects.Stale(Web, [.. ours, .. otherService, local], []);

        Assert.Equal(ours.Select(s => s.Metadata.Name), stale.Select(s => s.Metadata.Name));
    }
}
