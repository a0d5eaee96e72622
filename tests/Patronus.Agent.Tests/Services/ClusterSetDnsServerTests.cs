using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Patronus.Agent.Services.Dns;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Testing;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>
/// The clusterset.local server answering real DNS queries over UDP and TCP on the loopback of a throwaway namespace: from
/// a DNS client library, and from glibc's own resolver (getent, with the namespace's resolv.conf pointing at the server).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterSetDnsServerTests : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _ns;
    private readonly ClusterSetDnsServer _server;

    public ClusterSetDnsServerTests()
    {
        _ns = _namespaces.Add($"pcs-dns-{Guid.NewGuid().ToString("N")[..8]}");
        try
        {
            // getaddrinfo's AI_ADDRCONFIG (getent uses it) answers nothing for IPv4 in a namespace whose only address is loopback.
            NetworkNamespace.Ip(_ns, "link set lo up", "link add v0 type veth peer name v1", "addr add 10.99.0.1/24 dev v0", "link set v1 up", "link set v0 up");
            _server = InNamespace(() =>
            {
                var server = new ClusterSetDnsServer(new IPEndPoint(IPAddress.Loopback, 53));
                server.Start();
                return server;
            });
            _server.Update(
            [
                DnsService.From(ServiceMerger.Merge(
                    [
                        Export("a", 1, [Port("http", 80)], families: [IpFamily.IPv4, IpFamily.IPv6], endpoints: [Endpoint("10.1.0.1")]),
                        Export("b", 2, [Port("http", 80)], families: [IpFamily.IPv4, IpFamily.IPv6], endpoints: [Endpoint("10.2.0.1")]),
                    ], out _)!, [IPAddress.Parse("10.112.0.7"), IPAddress.Parse("fd00:112::7")]),
                DnsService.From(ServiceMerger.Merge(
                    [
                        Export("a", 1, [Port("pg", 5432)], ExportedServiceType.Headless, service: new ServiceKey("db", "pg"), endpoints: [Endpoint("10.1.0.5", "pg-0")]),
                        Export("b", 2, [Port("pg", 5432)], ExportedServiceType.Headless, service: new ServiceKey("db", "pg"), endpoints: [Endpoint("10.2.0.5", "pg-0")]),
                    ], out _)!, []),
            ]);
        }
        catch
        {
            _namespaces.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _server.Dispose();
        _namespaces.Dispose();
    }

    private T InNamespace<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                NetworkNamespace.Join(_ns);
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException(failure.Message, failure);
    }

    private DnsMessage Query(string name, RecordType type, bool tcp) => InNamespace(() =>
    {
        IClientTransport transport = tcp ? new TcpClientTransport(53) : new UdpClientTransport(53);
        var client = new DnsClient([IPAddress.Loopback], [transport], true, 5000);
        return client.Resolve(DomainName.Parse(name), type) ?? throw new TimeoutException($"no answer for {name} {type}");
    });

    public static TheoryData<bool> Transports() => new(false, true);

    [Theory]
    [MemberData(nameof(Transports))]
    public void ServiceName_ResolvesToTheClusterSetIps(bool tcp)
    {
        var a = Query("web.shop.svc.clusterset.local", RecordType.A, tcp);
        Assert.Equal(ReturnCode.NoError, a.ReturnCode);
        Assert.True(a.IsAuthoritiveAnswer);
        Assert.Equal(["10.112.0.7"], a.AnswerRecords.OfType<ARecord>().Select(r => r.Address.ToString()));
        Assert.Equal(ClusterSetDnsServer.TtlSeconds, a.AnswerRecords[0].TimeToLive);

        var aaaa = Query("web.shop.svc.clusterset.local", RecordType.Aaaa, tcp);
        Assert.Equal(["fd00:112::7"], aaaa.AnswerRecords.OfType<AaaaRecord>().Select(r => r.Address.ToString()));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Srv_ForANamedPort(bool tcp)
    {
        var srv = Query("_http._tcp.web.shop.svc.clusterset.local", RecordType.Srv, tcp);
        var record = Assert.Single(srv.AnswerRecords.OfType<SrvRecord>());
        Assert.Equal((80, "web.shop.svc.clusterset.local."), (record.Port, record.Target.ToString()));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Headless_ResolvesToEveryReadyEndpoint_AndEachPodByItsName(bool tcp)
    {
        Assert.Equal(["10.1.0.5", "10.2.0.5"], Query("pg.db.svc.clusterset.local", RecordType.A, tcp).AnswerRecords.OfType<ARecord>().Select(r => r.Address.ToString()).Order());
        Assert.Equal(["10.2.0.5"], Query("pg-0.b.pg.db.svc.clusterset.local", RecordType.A, tcp).AnswerRecords.OfType<ARecord>().Select(r => r.Address.ToString()));
        Assert.Equal(["pg-0.a.pg.db.svc.clusterset.local.", "pg-0.b.pg.db.svc.clusterset.local."],
            Query("_pg._tcp.pg.db.svc.clusterset.local", RecordType.Srv, tcp).AnswerRecords.OfType<SrvRecord>().Select(r => r.Target.ToString()).Order());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void NotExported_IsNxdomain_WithTheSoa(bool tcp)
    {
        var answer = Query("db.shop.svc.clusterset.local", RecordType.A, tcp);
        Assert.Equal(ReturnCode.NxDomain, answer.ReturnCode);
        Assert.Empty(answer.AnswerRecords);
        Assert.IsType<SoaRecord>(Assert.Single(answer.AuthorityRecords));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void OtherZones_AreRefused(bool tcp)
    {
        Assert.Equal(ReturnCode.Refused, Query("web.shop.svc.cluster.local", RecordType.A, tcp).ReturnCode);
        Assert.Equal(ReturnCode.Refused, Query("example.com", RecordType.A, tcp).ReturnCode);
    }

    [Fact]
    public void ExistingNameWithoutThatType_IsNoData_AndTheApexHasASoa()
    {
        var noData = Query("shop.svc.clusterset.local", RecordType.A, tcp: false);
        Assert.Equal(ReturnCode.NoError, noData.ReturnCode);
        Assert.Empty(noData.AnswerRecords);
        Assert.IsType<SoaRecord>(Assert.Single(noData.AuthorityRecords));
        Assert.IsType<SoaRecord>(Assert.Single(Query("clusterset.local", RecordType.Soa, tcp: false).AnswerRecords));
    }

    [Fact]
    public void Update_TakesEffectForTheNextQuery_AndUnexportedNamesGo()
    {
        _server.Update([]);

        Assert.Equal(ReturnCode.NxDomain, Query("web.shop.svc.clusterset.local", RecordType.A, tcp: false).ReturnCode);
    }

    [Fact]
    public void GlibcResolver_FindsTheServiceThroughTheServer()
    {
        // ip netns exec bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf for the command it runs.
        var etc = $"/etc/netns/{_ns}";
        var parentExisted = Directory.Exists("/etc/netns");
        Directory.CreateDirectory(etc);
        try
        {
            File.WriteAllText(Path.Combine(etc, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n");
            var v4 = Command.Run("ip", ["netns", "exec", _ns, "getent", "ahostsv4", "web.shop.svc.clusterset.local"]);
            Assert.True(v4.ExitCode == 0, $"getent: {v4.ExitCode} {v4.Stdout} {v4.Stderr}");
            Assert.StartsWith("10.112.0.7", v4.Stdout);
            Assert.Equal(2, Command.Run("ip", ["netns", "exec", _ns, "getent", "ahostsv4", "nope.shop.svc.clusterset.local"]).ExitCode);
        }
        finally
        {
            Directory.Delete(etc, recursive: true);
            if (!parentExisted && !Directory.EnumerateFileSystemEntries("/etc/netns").Any())
                Directory.Delete("/etc/netns");
        }
    }
}
