using System.Net;
using Patronus.Agent.Services.Dns;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>The clusterset.local names of KEP-1645, answered from the zone's model.</summary>
public sealed class ClusterSetZoneTests
{
    private static readonly ClusterSetZone Zone = new(
    [
        DnsService.From(ServiceMerger.Merge(
            [
                Export("a", 1, [Port("http", 80), Port("", 8081)], families: [IpFamily.IPv4, IpFamily.IPv6], endpoints: [Endpoint("10.1.0.1")]),
                Export("b", 2, [Port("http", 80), Port("", 8081)], families: [IpFamily.IPv4, IpFamily.IPv6], endpoints: [Endpoint("10.2.0.1")]),
            ], out _)!, [IPAddress.Parse("10.112.0.7"), IPAddress.Parse("fd00:112::7")]),
        DnsService.From(ServiceMerger.Merge(
            [
                Export("a", 1, [Port("pg", 5432)], ExportedServiceType.Headless, families: [IpFamily.IPv4, IpFamily.IPv6], service: new ServiceKey("db", "pg"),
                    endpoints: [new ReadyEndpoint([IPAddress.Parse("10.1.0.5"), IPAddress.Parse("fd00:1::5")], "pg-0"), Endpoint("10.1.0.6")]),
                Export("b", 2, [Port("pg", 5432)], ExportedServiceType.Headless, families: [IpFamily.IPv4, IpFamily.IPv6], service: new ServiceKey("db", "pg"),
                    endpoints: [Endpoint("10.2.0.5", "pg-0")]),
            ], out _)!, []),
    ]);

    private static string[] Records(string name, ZoneQueryType type)
    {
        var answer = Zone.Answer(name, type);
        Assert.Equal(ZoneOutcome.Answer, answer.Outcome);
        return answer.Records.Select(r => r switch
        {
            AddressRecord a => $"{a.Name} {a.Address}",
            ServiceRecord s => $"{s.Name} {s.Port} {s.Target}",
            _ => r.ToString(),
        }).Order().ToArray();
    }

    [Fact]
    public void ServiceName_AnswersTheClusterSetIps()
    {
        Assert.Equal(["web.shop.svc.clusterset.local 10.112.0.7"], Records("web.shop.svc.clusterset.local", ZoneQueryType.A));
        Assert.Equal(["web.shop.svc.clusterset.local fd00:112::7"], Records("Web.Shop.SVC.clusterset.local.", ZoneQueryType.Aaaa));
    }

    [Fact]
    public void NamedPort_HasSrv_ToTheServiceName_AndUnnamedPortsHaveNone()
    {
        Assert.Equal(["_http._tcp.web.shop.svc.clusterset.local 80 web.shop.svc.clusterset.local"], Records("_http._tcp.web.shop.svc.clusterset.local", ZoneQueryType.Srv));
        Assert.Equal(ZoneOutcome.NameError, Zone.Answer("_http._udp.web.shop.svc.clusterset.local", ZoneQueryType.Srv).Outcome);
        Assert.Equal(ZoneOutcome.NameError, Zone.Answer("_metrics._tcp.web.shop.svc.clusterset.local", ZoneQueryType.Srv).Outcome);
    }

    [Fact]
    public void HeadlessName_AnswersEveryReadyEndpointOfEveryCluster()
    {
        Assert.Equal(["pg.db.svc.clusterset.local 10.1.0.5", "pg.db.svc.clusterset.local 10.1.0.6", "pg.db.svc.clusterset.local 10.2.0.5"], Records("pg.db.svc.clusterset.local", ZoneQueryType.A));
        Assert.Equal(["pg.db.svc.clusterset.local fd00:1::5"], Records("pg.db.svc.clusterset.local", ZoneQueryType.Aaaa));
    }

    [Fact]
    public void HeadlessSrv_PointsAtEachEndpointsOwnName()
    {
        Assert.Equal(
        [
            "_pg._tcp.pg.db.svc.clusterset.local 5432 10-1-0-6.a.pg.db.svc.clusterset.local",
            "_pg._tcp.pg.db.svc.clusterset.local 5432 pg-0.a.pg.db.svc.clusterset.local",
            "_pg._tcp.pg.db.svc.clusterset.local 5432 pg-0.b.pg.db.svc.clusterset.local",
        ], Records("_pg._tcp.pg.db.svc.clusterset.local", ZoneQueryType.Srv));
    }

    [Fact]
    public void HostnameClusterName_AnswersThatOnePod()
    {
        Assert.Equal(["pg-0.a.pg.db.svc.clusterset.local 10.1.0.5"], Records("pg-0.a.pg.db.svc.clusterset.local", ZoneQueryType.A));
        Assert.Equal(["pg-0.a.pg.db.svc.clusterset.local fd00:1::5"], Records("pg-0.a.pg.db.svc.clusterset.local", ZoneQueryType.Aaaa));
        Assert.Equal(["pg-0.b.pg.db.svc.clusterset.local 10.2.0.5"], Records("pg-0.b.pg.db.svc.clusterset.local", ZoneQueryType.A));
        Assert.Equal(["10-1-0-6.a.pg.db.svc.clusterset.local 10.1.0.6"], Records("10-1-0-6.a.pg.db.svc.clusterset.local", ZoneQueryType.A));
        Assert.Empty(Records("pg-0.b.pg.db.svc.clusterset.local", ZoneQueryType.Aaaa));
        Assert.Equal(ZoneOutcome.NameError, Zone.Answer("pg-0.c.pg.db.svc.clusterset.local", ZoneQueryType.A).Outcome);
        Assert.Equal(ZoneOutcome.NameError, Zone.Answer("pg-9.a.pg.db.svc.clusterset.local", ZoneQueryType.A).Outcome);
        // A ClusterSetIP import publishes no per-pod names.
        Assert.Equal(ZoneOutcome.NameError, Zone.Answer("x.a.web.shop.svc.clusterset.local", ZoneQueryType.A).Outcome);
    }

    [Theory]
    [InlineData("db.shop.svc.clusterset.local")]
    [InlineData("web.other.svc.clusterset.local")]
    [InlineData("web.shop.pod.clusterset.local")]
    [InlineData("x.web.shop.svc.clusterset.local")]
    [InlineData("a.b.c.d.web.shop.svc.clusterset.local")]
    [InlineData("nothing.clusterset.local")]
    public void NotExported_IsNxdomain(string name) => Assert.Equal(ZoneOutcome.NameError, Zone.Answer(name, ZoneQueryType.A).Outcome);

    [Theory]
    [InlineData("clusterset.local")]
    [InlineData("svc.clusterset.local")]
    [InlineData("shop.svc.clusterset.local")]
    [InlineData("_http.web.shop.svc.clusterset.local")]
    [InlineData("a.pg.db.svc.clusterset.local")]
    public void ParentsOfNames_ExistWithoutRecords(string name) => Assert.Empty(Records(name, ZoneQueryType.A));

    [Fact]
    public void OtherTypes_AtAnExistingName_AreNoData() => Assert.Empty(Records("web.shop.svc.clusterset.local", ZoneQueryType.Other));

    [Theory]
    [InlineData("web.shop.svc.cluster.local")]
    [InlineData("example.com")]
    [InlineData("local")]
    [InlineData("clusterset.local.example.com")]
    public void OtherZones_AreNotOurs(string name) => Assert.Equal(ZoneOutcome.NotOurZone, Zone.Answer(name, ZoneQueryType.A).Outcome);

    [Fact]
    public void EmptyZone_HasNoSvcNamespaceOrService()
    {
        Assert.Equal(ZoneOutcome.NameError, ClusterSetZone.Empty.Answer("svc.clusterset.local", ZoneQueryType.A).Outcome);
        Assert.Equal(ZoneOutcome.NameError, ClusterSetZone.Empty.Answer("web.shop.svc.clusterset.local", ZoneQueryType.A).Outcome);
        Assert.Equal(ZoneOutcome.Answer, ClusterSetZone.Empty.Answer("clusterset.local", ZoneQueryType.A).Outcome);
    }
}
