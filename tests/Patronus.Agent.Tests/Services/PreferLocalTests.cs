using System.Net;
using Patronus.Agent.Services.ClusterSetIp;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Services.Import;
using Patronus.Agent.Services.Model;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>
/// --clusterset-prefer-local: a ClusterSetIP port goes to this cluster's own ready endpoints when it has some (per port
/// and family), else to every exporting cluster's; through the imports as every node reads them back.
/// </summary>
public sealed class PreferLocalTests
{
    private static readonly ClusterSetIpAllocator Allocator = ClusterSetIpAllocator.Parse("10.112.0.0/16,fd00:112::/112");

    private static IReadOnlySet<string> All(ServiceKey _) => new HashSet<string> { "aws", "gcp", "onprem" };

    private static Dictionary<(IPAddress, int), string[]> Backends(string? preferred, IReadOnlySet<string>? withdrawn, params ClusterExport[] exports)
    {
        var plan = ImportPlan.Make(exports, _ => true, _ => true, [], [], Allocator, All);
        var view = Assert.Single(ImportedView.From(plan.Imports, plan.Slices));
        return ClusterSetVip.From(view.Service, view.ClusterSetIps, withdrawn, preferred)
            .ToDictionary(v => (v.Address, v.Port), v => v.Backends.Select(b => b.ToString()).Order().ToArray());
    }

    private static string[] Only(Dictionary<(IPAddress, int), string[]> backends, int port = 80) => Assert.Single(backends, b => b.Key.Item2 == port).Value;

    private static readonly ClusterExport Aws = Export("aws", 1, endpoints: [Endpoint("10.244.1.2"), Endpoint("10.244.1.3")]);
    private static readonly ClusterExport Gcp = Export("gcp", 2, endpoints: [Endpoint("10.248.0.2")]);

    [Theory]
    [InlineData(null, new[] { "aws 10.244.1.2:8080", "aws 10.244.1.3:8080", "gcp 10.248.0.2:8080" })]
    [InlineData("aws", new[] { "aws 10.244.1.2:8080", "aws 10.244.1.3:8080" })]
    [InlineData("gcp", new[] { "gcp 10.248.0.2:8080" })]
    [InlineData("onprem", new[] { "aws 10.244.1.2:8080", "aws 10.244.1.3:8080", "gcp 10.248.0.2:8080" })]
    public void AnExportingCluster_UsesItsOwnEndpoints_OthersSpreadOverAll(string? preferred, string[] expected) =>
        Assert.Equal(expected, Only(Backends(preferred, null, Aws, Gcp)));

    [Fact]
    public void WithoutReadyLocalEndpoints_TheOtherClustersTakeOver()
    {
        Assert.Equal(["gcp 10.248.0.2:8080"], Only(Backends("aws", null, Aws with { Endpoints = [] }, Gcp)));
    }

    [Fact]
    public void AWithdrawnLocalCluster_CountsAsHavingNone()
    {
        Assert.Equal(["gcp 10.248.0.2:8080"], Only(Backends("aws", new HashSet<string> { "aws" }, Aws, Gcp)));
    }

    [Fact]
    public void APortTheLocalClusterDoesNotExpose_GoesToTheClustersThatDo()
    {
        var aws = Aws with { Spec = Aws.Spec! with { Ports = [Port("http", 80, target: 8080)] } };
        var gcp = Gcp with { Spec = Gcp.Spec! with { Ports = [Port("http", 80, target: 8080), Port("admin", 81, target: 9091)] } };

        var backends = Backends("aws", null, aws, gcp);

        Assert.Equal(["aws 10.244.1.2:8080", "aws 10.244.1.3:8080"], Only(backends, 80));
        Assert.Equal(["gcp 10.248.0.2:9091"], Only(backends, 81));
    }

    [Fact]
    public void EachFamily_PrefersOnItsOwn()
    {
        // aws has only IPv4 endpoints: its IPv6 VIP goes to gcp's IPv6 endpoint.
        var families = new[] { IpFamily.IPv4, IpFamily.IPv6 };
        var aws = Aws with { Spec = Aws.Spec! with { IpFamilies = families } };
        var gcp = Gcp with { Spec = Gcp.Spec! with { IpFamilies = families }, Endpoints = [new ReadyEndpoint([IPAddress.Parse("10.248.0.2"), IPAddress.Parse("fd00:248::2")], null)] };

        var backends = Backends("aws", null, aws, gcp);

        Assert.Equal(["aws 10.244.1.2:8080", "aws 10.244.1.3:8080"], backends.Single(b => b.Key.Item1.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).Value);
        Assert.Equal(["gcp [fd00:248::2]:8080"], backends.Single(b => b.Key.Item1.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).Value);
    }

    [Fact]
    public void AHeadlessImport_HasNoVip_WhateverThePreference()
    {
        Assert.Empty(Backends("aws", null, Aws with { Spec = Aws.Spec! with { Type = ExportedServiceType.Headless } }, Gcp with { Spec = Gcp.Spec! with { Type = ExportedServiceType.Headless } }));
    }
}
