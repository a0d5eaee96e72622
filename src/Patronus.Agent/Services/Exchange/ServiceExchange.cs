using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datagrams;
using Patronus.Agent.Services.Announcement;
using Patronus.Agent.Services.Model;
using Patronus.Agent.Telemetry;
using Patronus.Mesh.Identity;
using Patronus.Netlink;

namespace Patronus.Agent.Services.Exchange;

/// <summary>
/// The service exchange of a gateway: tells the other clusters' gateways this cluster's exports and that it is alive, and
/// hears theirs. Its own UDP port beside the mesh's discovery port (the mesh's announcements stay as they are); every
/// message is sealed with the member identity and opened only after its signature, certificate and age check out.
/// Sends heartbeats every <see cref="ServicesOptions.HeartbeatInterval"/>, each export every
/// <see cref="ServicesOptions.RefreshInterval"/> and at once when it changes, and withdrawals of what went for as long
/// as a receiver could still hold it.
/// </summary>
public sealed partial class ServiceExchange : IClusterLiveness, IDisposable
{
    private readonly ServicesOptions _options;
    private readonly MemberIdentity _identity;
    private readonly IReadOnlyList<byte[]> _setKeys;
    private readonly IReadOnlyList<IPEndPoint> _peers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Socket _socket;
    private readonly Lock _lock = new();
    private readonly RemoteExports _remote;
    private readonly LogRateLimit _refusals = new(10, TimeSpan.FromMinutes(1));
    private readonly SemaphoreSlim _sendNow = new(0, 1);
    private Dictionary<ServiceKey, ServiceAnnouncement> _local = [];
    private readonly Dictionary<ServiceKey, (ServiceAnnouncement Withdrawal, DateTimeOffset Until)> _withdrawals = [];
    private readonly HashSet<ServiceKey> _unsent = [];
    private ulong _sequence;

    /// <param name="peers">The other clusters' gateway addresses (remote-clusters); messages go to them on the exchange port.</param>
    public ServiceExchange(ServicesOptions options, MemberIdentity identity, IReadOnlyList<byte[]> setKeys, IEnumerable<IPAddress> peers, NetNs ns, ILogger<ServiceExchange> logger, TimeProvider? time = null)
    {
        _options = options;
        _identity = identity;
        _setKeys = setKeys;
        _peers = peers.Distinct().Select(a => new IPEndPoint(a, options.ExchangePort)).ToList();
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _remote = new RemoteExports(options, identity.MemberId);
        // Sequences must grow across restarts without stored state: from the clock, in microseconds (several per millisecond).
        _sequence = (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        _socket = ns.RunOnThisThread(Open);
    }

    /// <summary>Raised (on the exchange's threads) when a remote export, or a cluster's liveness, changed.</summary>
    public event Action? Changed;

    public string ClusterId => _identity.MemberId;

    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    private Socket Open()
    {
        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, _options.ExchangePort));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>What this cluster exports now (valid exports only); what changed is announced at once, what went is withdrawn.</summary>
    public void SetLocal(IReadOnlyList<ClusterExport> exports)
    {
        var changed = false;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var next = new Dictionary<ServiceKey, ServiceAnnouncement>();
            foreach (var export in exports)
            {
                var candidate = new ServiceAnnouncement(export.ClusterId, 0, export.Service, export.ExportCreated, export.Spec, export.Endpoints);
                if (_local.TryGetValue(export.Service, out var held) && Same(held, candidate))
                {
                    next[export.Service] = held;
                    continue;
                }
                next[export.Service] = candidate with { Sequence = NextSequence() };
                _withdrawals.Remove(export.Service);
                _unsent.Add(export.Service);
                changed = true;
            }
            foreach (var (service, gone) in _local)
            {
                if (next.ContainsKey(service))
                    continue;
                // Sent until no receiver can still hold the export from a refresh it heard (then expiry would drop it anyway).
                _withdrawals[service] = (new ServiceAnnouncement(gone.ClusterId, NextSequence(), service, gone.ExportCreated, null, []), now + _options.ExportExpiry);
                _unsent.Add(service);
                changed = true;
            }
            _local = next;
        }
        if (changed && _sendNow.CurrentCount == 0)
        {
            try
            {
                _sendNow.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    public bool IsAlive(string cluster)
    {
        lock (_lock)
            return _remote.IsAlive(cluster);
    }

    public IReadOnlyList<ClusterExport> RemoteExports()
    {
        lock (_lock)
            return _remote.Exports();
    }

    public IReadOnlyList<(string Cluster, bool Alive, DateTimeOffset LastHeard)> RemoteClusters()
    {
        lock (_lock)
            return _remote.Clusters();
    }

    /// <summary>Which of this cluster's exports have been sent to the cluster set (their Ready condition).</summary>
    public IReadOnlySet<ServiceKey> Announced()
    {
        lock (_lock)
            return _local.Keys.Where(k => !_unsent.Contains(k)).ToHashSet();
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var receiving = ReceiveAsync(cancellationToken);
        var nextRefresh = DateTimeOffset.MinValue;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var now = _time.GetUtcNow();
                var refresh = now >= nextRefresh;
                if (refresh)
                    nextRefresh = now + _options.RefreshInterval;
                await SendAsync(refresh, cancellationToken).ConfigureAwait(false);
                bool swept;
                lock (_lock)
                    swept = _remote.Sweep(_time.GetUtcNow());
                if (swept)
                    Changed?.Invoke();
                await _sendNow.WaitAsync(_options.HeartbeatInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await receiving.ConfigureAwait(false);
    }

    private async Task SendAsync(bool refresh, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var datagrams = new List<byte[]> { Seal(ServiceMessageKind.Heartbeat, now, []) };
        lock (_lock)
        {
            foreach (var (service, (withdrawal, until)) in _withdrawals.ToList())
            {
                if (now > until)
                    _withdrawals.Remove(service);
                else if (refresh || _unsent.Contains(service))
                    datagrams.Add(Seal(ServiceMessageKind.Announcement, now, ServiceAnnouncementCodec.Encode(withdrawal)));
            }
            foreach (var (service, announcement) in _local)
            {
                if (refresh || _unsent.Contains(service))
                    datagrams.Add(Seal(ServiceMessageKind.Announcement, now, ServiceAnnouncementCodec.Encode(announcement)));
            }
            _unsent.Clear();
        }
        foreach (var peer in _peers)
        {
            foreach (var datagram in datagrams)
            {
                try
                {
                    await _socket.SendToAsync(datagram, SocketFlags.None, peer, cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    // A gateway unreachable now (its link is down) is tried again at the next heartbeat.
                    Log.SendFailed(_logger, peer.ToString(), e.Message);
                }
            }
        }
    }

    private byte[] Seal(ServiceMessageKind kind, DateTimeOffset now, byte[] payload)
    {
        var body = ServiceEnvelope.Body(kind, now, _identity.SignedCertificate, payload);
        return ServiceEnvelope.Seal(body, _identity.SignMessage(ServiceEnvelope.Context, body));
    }

    private Task ReceiveAsync(CancellationToken cancellationToken) =>
        DatagramLoop.RunAsync("service-exchange", _socket, ServiceEnvelope.MaxSize, Receive, () =>
        {
            if (_refusals.TryEnter(out var suppressed))
                Log.Refused(_logger, "?", "larger than the receive buffer", suppressed);
        }, _logger, cancellationToken);

    /// <summary>One datagram from the network: opened (signature first), then applied.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, EndPoint from)
    {
        var now = _time.GetUtcNow();
        var opened = ServiceEnvelope.TryOpen(datagram, _setKeys, now, TimeSpan.FromSeconds(30), out var problem);
        bool changed;
        lock (_lock)
            changed = opened is not null && _remote.Accept(opened, now, out problem);
        if (!string.IsNullOrEmpty(problem) && _refusals.TryEnter(out var suppressed))
            Log.Refused(_logger, from.ToString() ?? "", problem ?? "", suppressed);
        if (changed)
            Changed?.Invoke();
    }

    private ulong NextSequence()
    {
        _sequence = Math.Max(_sequence + 1, (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds() * 1000);
        return _sequence;
    }

    private static bool Same(ServiceAnnouncement a, ServiceAnnouncement b) =>
        ServiceAnnouncementCodec.Encode(a with { Sequence = 0 }).AsSpan().SequenceEqual(ServiceAnnouncementCodec.Encode(b with { Sequence = 0 }));

    public void Dispose()
    {
        _socket.Dispose();
        _sendNow.Dispose();
    }
}
