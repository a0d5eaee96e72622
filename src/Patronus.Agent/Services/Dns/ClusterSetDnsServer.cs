using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Patronus.Agent.Services.Dns;

/// <summary>
/// Serves the clusterset.local zone over UDP and TCP (ARSoft.Tools.Net's server does the wire protocol), authoritative and
/// non-recursive: questions for any other zone are REFUSED, as an authoritative-only server answers them (CoreDNS forwards
/// only clusterset.local here, so a refusal means a misrouted query, and REFUSED says so where NXDOMAIN would lie about a
/// name). Negative answers carry the zone's SOA, so resolvers cache them for <see cref="NegativeTtlSeconds"/>.
/// The services feature calls <see cref="Update"/> with every change; queries read the current snapshot without locks.
/// The sockets are opened by <see cref="Start"/> in the network namespace of the calling thread.
/// </summary>
public sealed partial class ClusterSetDnsServer : IDisposable
{
    /// <summary>Records live as briefly as cluster DNS's (CoreDNS's kubernetes plugin defaults to 5 s): endpoints come and go.</summary>
    public const int TtlSeconds = 5;

    public const int NegativeTtlSeconds = 5;

    private static readonly DomainName Origin = DomainName.Parse(ClusterSetZone.Origin);
    private readonly DnsServer _server;
    private readonly ILogger _logger;
    private ClusterSetZone _zone = ClusterSetZone.Empty;
    private uint _serial = 1;

    public ClusterSetDnsServer(IPEndPoint endpoint, ILogger<ClusterSetDnsServer>? logger = null)
    {
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _server = new DnsServer(new UdpServerTransport(endpoint), new TcpServerTransport(endpoint));
        _server.QueryReceived += OnQueryReceived;
        _server.ExceptionThrown += OnExceptionThrown;
    }

    public void Start() => _server.Start();

    /// <summary>Replaces the zone's services; the SOA serial grows so secondaries and caches can tell.</summary>
    public void Update(IEnumerable<DnsService> services)
    {
        Volatile.Write(ref _zone, new ClusterSetZone(services));
        Interlocked.Increment(ref _serial);
    }

    private Task OnQueryReceived(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query)
            return Task.CompletedTask;
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = false;
        if (query.Questions.Count != 1)
        {
            // RFC 9619: one question per query; anything else is a format error.
            response.ReturnCode = ReturnCode.FormatError;
            e.Response = response;
            return Task.CompletedTask;
        }
        var question = query.Questions[0];
        var zone = Volatile.Read(ref _zone);
        var answer = question.RecordClass is RecordClass.INet or RecordClass.Any
            ? zone.Answer(question.Name.ToString(), TypeOf(question.RecordType))
            : ZoneAnswer.NotOurZone;

        switch (answer.Outcome)
        {
            case ZoneOutcome.NotOurZone:
                response.ReturnCode = ReturnCode.Refused;
                Log.Refused(_logger, question.Name.ToString(), question.RecordType.ToString());
                break;
            case ZoneOutcome.NameError:
                response.ReturnCode = ReturnCode.NxDomain;
                response.IsAuthoritiveAnswer = true;
                response.AuthorityRecords.Add(Soa());
                break;
            default:
                response.ReturnCode = ReturnCode.NoError;
                response.IsAuthoritiveAnswer = true;
                if (question.Name.Equals(Origin) && question.RecordType is RecordType.Soa)
                    response.AnswerRecords.Add(Soa());
                foreach (var record in answer.Records)
                    response.AnswerRecords.Add(ToRecord(record));
                if (response.AnswerRecords.Count == 0)
                    response.AuthorityRecords.Add(Soa()); // NODATA: the SOA bounds how long it is cached
                break;
        }
        e.Response = response;
        return Task.CompletedTask;
    }

    private Task OnExceptionThrown(object sender, ExceptionEventArgs e)
    {
        Log.Failed(_logger, e.Exception.GetType().Name, e.Exception.Message);
        return Task.CompletedTask;
    }

    private static ZoneQueryType TypeOf(RecordType type) => type switch
    {
        RecordType.A => ZoneQueryType.A,
        RecordType.Aaaa => ZoneQueryType.Aaaa,
        RecordType.Srv => ZoneQueryType.Srv,
        _ => ZoneQueryType.Other,
    };

    private static DnsRecordBase ToRecord(ZoneRecord record) => record switch
    {
        AddressRecord { Address.AddressFamily: System.Net.Sockets.AddressFamily.InterNetwork } a => new ARecord(DomainName.Parse(a.Name), TtlSeconds, a.Address),
        AddressRecord a => new AaaaRecord(DomainName.Parse(a.Name), TtlSeconds, a.Address),
        ServiceRecord s => new SrvRecord(DomainName.Parse(s.Name), TtlSeconds, 0, 100, (ushort)s.Port, DomainName.Parse(s.Target)),
        _ => throw new ArgumentOutOfRangeException(nameof(record), record, "no DNS record for this zone record"),
    };

    private SoaRecord Soa() => new(Origin, NegativeTtlSeconds, DomainName.Parse("ns.dns." + ClusterSetZone.Origin),
        DomainName.Parse("hostmaster." + ClusterSetZone.Origin), Volatile.Read(ref _serial), 7200, 1800, 86400, NegativeTtlSeconds);

    public void Dispose() => _server.Stop();
}
