using System.Net;
using System.Net.Sockets;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.Dns;

/// <summary>A port of an imported service as DNS publishes it (SRV <c>_name._proto</c>); unnamed ports have no SRV record.</summary>
public sealed record DnsPort(string Name, string Protocol, int Port);

/// <summary>A ready endpoint of a headless import: its cluster, the hostname it is published under, its addresses.</summary>
public sealed record DnsEndpoint(string Cluster, string Hostname, IReadOnlyList<IPAddress> Addresses);

/// <summary>An imported service as the clusterset.local zone holds it.</summary>
public sealed record DnsService(ServiceKey Service, bool Headless, IReadOnlyList<IPAddress> ClusterSetIps, IReadOnlyList<DnsPort> Ports, IReadOnlyList<DnsEndpoint> Endpoints)
{
    /// <summary>
    /// The zone's view of a merged service. A headless endpoint without a hostname is published under its address with
    /// dashes (10-1-0-1, fd00--1), as cluster DNS does for pods without one, so every endpoint has a name SRV can point at.
    /// </summary>
    public static DnsService From(MergedService service, IReadOnlyList<IPAddress> clusterSetIps)
    {
        var headless = service.Type == ExportedServiceType.Headless;
        var endpoints = headless
            ? service.Exports.SelectMany(e => e.Endpoints.Select(p => new DnsEndpoint(e.ClusterId, p.Hostname ?? Dashed(p.Addresses[0]), p.Addresses))).ToList()
            : [];
        return new DnsService(service.Service, headless, headless ? [] : clusterSetIps,
            service.Ports.Where(p => p.Name.Length > 0).Select(p => new DnsPort(p.Name, p.Protocol, p.Port)).ToList(), endpoints);
    }

    private static string Dashed(IPAddress address) => address.ToString().Replace('.', '-').Replace(':', '-');
}

/// <summary>What the zone says about one question.</summary>
public enum ZoneOutcome
{
    /// <summary>The name exists; the answer may be empty (no record of that type: NODATA).</summary>
    Answer,

    /// <summary>Inside clusterset.local, but no such name: nothing by that name is exported.</summary>
    NameError,

    /// <summary>Outside clusterset.local: this server answers for no other zone.</summary>
    NotOurZone,
}

public abstract record ZoneRecord(string Name);

public sealed record AddressRecord(string Name, IPAddress Address) : ZoneRecord(Name);

public sealed record ServiceRecord(string Name, int Port, string Target) : ZoneRecord(Name);

public sealed record ZoneAnswer(ZoneOutcome Outcome, IReadOnlyList<ZoneRecord> Records)
{
    public static readonly ZoneAnswer NameError = new(ZoneOutcome.NameError, []);
    public static readonly ZoneAnswer NotOurZone = new(ZoneOutcome.NotOurZone, []);
}

/// <summary>The record types the zone answers; any other type at an existing name is NODATA.</summary>
public enum ZoneQueryType
{
    A,
    Aaaa,
    Srv,
    Other,
}

/// <summary>
/// The clusterset.local zone as KEP-1645 ("DNS") specifies it, answered from an immutable snapshot of the imported
/// services. Pure: names in, records out. The names:
/// <list type="bullet">
/// <item><c>SVC.NS.svc.clusterset.local</c>: A/AAAA, the ClusterSetIPs; for a headless import, every ready endpoint's address.</item>
/// <item><c>_PORT._PROTO.SVC.NS.svc.clusterset.local</c>: SRV for each named port, to the service's name (ClusterSetIP)
/// or to each endpoint's own name (headless).</item>
/// <item><c>HOSTNAME.CLUSTER.SVC.NS.svc.clusterset.local</c>: A/AAAA of that one endpoint of a headless import.</item>
/// </list>
/// A name that exists only as a parent of those (<c>NS.svc.clusterset.local</c>) answers NOERROR with no records, never
/// NXDOMAIN (RFC 8020: NXDOMAIN would deny the names below it). Everything else inside the zone is NXDOMAIN.
/// </summary>
public sealed class ClusterSetZone
{
    public const string Origin = "clusterset.local";

    private readonly Dictionary<(string Namespace, string Name), DnsService> _services;

    public ClusterSetZone(IEnumerable<DnsService> services)
    {
        _services = new Dictionary<(string, string), DnsService>();
        foreach (var service in services)
            _services[(service.Service.Namespace, service.Service.Name)] = service;
    }

    public static readonly ClusterSetZone Empty = new([]);

    public static string ServiceName(ServiceKey service) => $"{service.Name}.{service.Namespace}.svc.{Origin}";

    /// <param name="name">The question's name, without the trailing dot; compared case-insensitively (RFC 4343).</param>
    public ZoneAnswer Answer(string name, ZoneQueryType type)
    {
        var labels = name.TrimEnd('.').ToLowerInvariant().Split('.');
        // Labels from the right: local, clusterset, svc, NS, SVC, then per form.
        if (labels.Length < 2 || labels[^1] != "local" || labels[^2] != "clusterset")
            return ZoneAnswer.NotOurZone;
        var inZone = labels[..^2];
        if (inZone.Length == 0)
            return new ZoneAnswer(ZoneOutcome.Answer, []); // the apex: the server adds SOA and NS
        if (inZone[^1] != "svc")
            return ZoneAnswer.NameError;
        if (inZone.Length == 1)
            return _services.Count > 0 ? new ZoneAnswer(ZoneOutcome.Answer, []) : ZoneAnswer.NameError;
        var ns = inZone[^2];
        if (inZone.Length == 2)
            return _services.Keys.Any(k => k.Namespace == ns) ? new ZoneAnswer(ZoneOutcome.Answer, []) : ZoneAnswer.NameError;
        if (!_services.TryGetValue((ns, inZone[^3]), out var service))
            return ZoneAnswer.NameError;
        var serviceName = ServiceName(service.Service);

        switch (inZone.Length)
        {
            case 3:
                return new ZoneAnswer(ZoneOutcome.Answer, type switch
                {
                    ZoneQueryType.A or ZoneQueryType.Aaaa => Addresses(service, type).Select(a => (ZoneRecord)new AddressRecord(serviceName, a)).ToList(),
                    _ => [],
                });
            case 4 when !inZone[0].StartsWith('_'):
                // CLUSTER.SVC.NS.svc: a parent of the endpoints' names.
                return service.Headless && service.Endpoints.Any(e => e.Cluster == inZone[0]) ? new ZoneAnswer(ZoneOutcome.Answer, []) : ZoneAnswer.NameError;
            case 4:
                // _PORT.SVC.NS.svc: a parent of the SRV names.
                return service.Ports.Any(p => "_" + p.Name == inZone[0]) ? new ZoneAnswer(ZoneOutcome.Answer, []) : ZoneAnswer.NameError;
            case 5 when inZone[0].StartsWith('_') && inZone[1].StartsWith('_'):
                var port = service.Ports.FirstOrDefault(p => "_" + p.Name == inZone[0] && "_" + p.Protocol.ToLowerInvariant() == inZone[1]);
                if (port is null)
                    return ZoneAnswer.NameError;
                var srvName = $"{inZone[0]}.{inZone[1]}.{serviceName}";
                if (type != ZoneQueryType.Srv)
                    return new ZoneAnswer(ZoneOutcome.Answer, []);
                return new ZoneAnswer(ZoneOutcome.Answer, service.Headless
                    ? service.Endpoints.Select(e => (ZoneRecord)new ServiceRecord(srvName, port.Port, $"{e.Hostname}.{e.Cluster}.{serviceName}")).ToList()
                    : [new ServiceRecord(srvName, port.Port, serviceName)]);
            case 5 when service.Headless:
                var endpoint = service.Endpoints.FirstOrDefault(e => e.Cluster == inZone[1] && e.Hostname == inZone[0]);
                if (endpoint is null)
                    return ZoneAnswer.NameError;
                var family = type == ZoneQueryType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
                return new ZoneAnswer(ZoneOutcome.Answer, type is ZoneQueryType.A or ZoneQueryType.Aaaa
                    ? endpoint.Addresses.Where(a => a.AddressFamily == family).Select(a => (ZoneRecord)new AddressRecord($"{inZone[0]}.{inZone[1]}.{serviceName}", a)).ToList()
                    : []);
            default:
                return ZoneAnswer.NameError;
        }
    }

    private static IEnumerable<IPAddress> Addresses(DnsService service, ZoneQueryType type)
    {
        var family = type == ZoneQueryType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        var all = service.Headless ? service.Endpoints.SelectMany(e => e.Addresses) : service.ClusterSetIps;
        return all.Where(a => a.AddressFamily == family).Distinct();
    }
}
