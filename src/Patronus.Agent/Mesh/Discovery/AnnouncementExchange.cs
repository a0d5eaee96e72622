using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Patronus.Agent.Datagrams;
using Patronus.Agent.Telemetry;
using Patronus.Netlink;

namespace Patronus.Agent.Mesh.Discovery;

/// <summary>Where announcements go and come from.</summary>
public sealed record DiscoveryOptions
{
    /// <summary>The UDP port members listen on for announcements (the seed's 51821).</summary>
    public int Port { get; init; } = 51821;

    /// <summary>Where to send ours by unicast: the configured remote clusters' discovery endpoints.</summary>
    public IReadOnlyList<IPEndPoint> Peers { get; init; } = [];

    /// <summary>A multicast group to announce on and listen to, on a LAN that has multicast; null for none.</summary>
    public IPEndPoint? MulticastGroup { get; init; }

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Sends this member's signed announcement and takes in the others'. Nothing received changes anything before
/// <see cref="AnnouncementValidator"/> has checked its signatures, age, sequence and prefixes; a refused datagram
/// is counted by reason and logged (at most ten lines a minute, so a flood cannot fill the disk). A gateway not
/// heard from for as long as its last announcement stays valid is dropped. Each gateway of a member is kept apart
/// (<see cref="Announcer"/>); ours go to the configured peers and also to every gateway heard from, so a second
/// gateway of a remote cluster, which no configuration names, hears us and is heard in return.
/// </summary>
public sealed partial class AnnouncementExchange : IDisposable
{
    private readonly DiscoveryOptions _options;
    private readonly MemberIdentity _identity;
    private readonly MeshTrust _trust;
    private readonly Func<Announcement> _ownAnnouncement;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly Lock _lock = new();
    private readonly Dictionary<Announcer, (Announcement Announcement, DateTimeOffset At)> _members = [];
    private readonly Dictionary<Announcer, MemberState> _states = [];
    private readonly ConcurrentDictionary<RejectReason, long> _rejected = new();
    private readonly Dictionary<Announcer, byte[]> _lastAccepted = [];
    private long _duplicates;
    private readonly LogRateLimit _rejectLog = new(10, TimeSpan.FromMinutes(1));
    private ulong _sequence;

    /// <param name="ownAnnouncement">Makes this member's announcement (sequence and time are filled in here).</param>
    public AnnouncementExchange(DiscoveryOptions options, MemberIdentity identity, MeshTrust trust, Func<Announcement> ownAnnouncement, NetNs? ns, ILogger<AnnouncementExchange> logger, TimeProvider? time = null)
    {
        _options = options;
        _identity = identity;
        _trust = trust;
        _ownAnnouncement = ownAnnouncement;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        // Sequence numbers must grow across restarts without stored state: start from the clock (milliseconds).
        _sequence = (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds();
        _socket = ns is null ? Open() : ns.RunOnThisThread(Open);
    }

    /// <summary>Raised (on the receive loop) when the set of accepted members or what one announces changes.</summary>
    public event Action? MembersChanged;

    /// <summary>The last accepted announcement of every gateway of every member heard from recently.</summary>
    public IReadOnlyCollection<Announcement> Members
    {
        get
        {
            lock (_lock)
                return _members.Values.Select(m => m.Announcement).ToArray();
        }
    }

    /// <summary>Datagrams refused since start, by reason.</summary>
    public IReadOnlyDictionary<RejectReason, long> Rejected => _rejected;

    /// <summary>
    /// Copies of an accepted announcement that arrived again, byte for byte: a gateway on two WAN links with another
    /// hears each announcement once per link. Changing nothing, they are counted apart and not called replays.
    /// </summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    private Socket Open()
    {
        var family = _options.MulticastGroup?.AddressFamily ?? AddressFamily.InterNetworkV6;
        var socket = new Socket(family == AddressFamily.InterNetwork ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (socket.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = true;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, _options.Port));
            if (_options.MulticastGroup is { } group)
            {
                if (group.AddressFamily == AddressFamily.InterNetwork)
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group.Address));
                else
                    socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(group.Address));
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var receiving = ReceiveAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await AnnounceAsync(cancellationToken).ConfigureAwait(false);
                Expire();
                await Task.Delay(_options.Interval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await receiving.ConfigureAwait(false);
    }

    /// <summary>Sends this member's announcement now, to every configured peer and the multicast group.</summary>
    public async Task AnnounceAsync(CancellationToken cancellationToken)
    {
        var template = _ownAnnouncement();
        var sequence = Math.Max(Interlocked.Increment(ref _sequence), (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds());
        Interlocked.Exchange(ref _sequence, sequence);
        var datagram = _identity.Sign(template with { Sequence = sequence, Timestamp = _time.GetUtcNow() });
        IEnumerable<IPEndPoint> targets = _options.Peers;
        lock (_lock)
        {
            // A gateway heard from is told about us on its announced addresses, at the discovery port.
            var heard = _members.Values.SelectMany(m => m.Announcement.Endpoints).Select(e => new IPEndPoint(e.Address, _options.Port)).ToArray();
            targets = targets.Concat(heard).Distinct().ToArray();
        }
        if (_options.MulticastGroup is { } group)
            targets = targets.Append(group);
        foreach (var target in targets)
        {
            try
            {
                await _socket.SendToAsync(datagram, SocketFlags.None, target, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                // A peer unreachable now (no route yet, an ICMP error) is tried again next round.
                Log.SendFailed(_logger, target.ToString(), e.Message);
            }
        }
    }

    private Task ReceiveAsync(CancellationToken cancellationToken) =>
        DatagramLoop.RunAsync("mesh-announcements", _socket, AnnouncementCodec.MaxSize, Receive,
            () => Refuse(RejectReason.Oversized, "larger than the receive buffer", null, null), _logger, cancellationToken);

    /// <summary>One datagram from the network: validated, then (only if accepted) applied.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, EndPoint from)
    {
        AnnouncementVerdict verdict;
        lock (_lock)
        {
            verdict = AnnouncementValidator.Validate(datagram, _time.GetUtcNow(), _trust, _states);
            if (verdict.Accepted is { } announcement)
            {
                var changed = !_members.TryGetValue(announcement.Announcer, out var before) || !SameContent(before.Announcement, announcement);
                _members[announcement.Announcer] = (announcement, _time.GetUtcNow());
                _states[announcement.Announcer] = new MemberState(announcement.Sequence, announcement.Prefixes);
                _lastAccepted[announcement.Announcer] = datagram.ToArray();
                if (!changed)
                    return;
                Log.MemberAccepted(_logger, announcement.Announcer.ToString(), string.Join(", ", announcement.Prefixes), string.Join(", ", announcement.Endpoints));
            }
        }
        if (verdict.Reason == RejectReason.Replayed && IsCopyOfAccepted(datagram))
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }
        if (verdict.Reason is { } reason)
        {
            // Our own multicast looping back is expected, not an attack.
            if (reason != RejectReason.OwnAnnouncement)
                Refuse(reason, verdict.Detail, verdict.MemberId, from);
            return;
        }
        MembersChanged?.Invoke();
    }

    private bool IsCopyOfAccepted(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            foreach (var accepted in _lastAccepted.Values)
            {
                if (datagram.SequenceEqual(accepted))
                    return true;
            }
            return false;
        }
    }

    private void Refuse(RejectReason reason, string detail, string? member, EndPoint? from)
    {
        _rejected.AddOrUpdate(reason, 1, (_, n) => n + 1);
        if (_rejectLog.TryEnter(out var suppressed))
            Log.Rejected(_logger, reason.ToString(), from?.ToString() ?? "?", member ?? "?", detail, suppressed);
    }

    private void Expire()
    {
        var expired = new List<Announcer>();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var (id, member) in _members)
            {
                if (now - member.At > _trust.MaxAge)
                    expired.Add(id);
            }
            foreach (var id in expired)
            {
                // Its sequence number is kept: an old announcement of it replayed later is still refused.
                _members.Remove(id);
                _lastAccepted.Remove(id);
                _states[id] = _states[id] with { Prefixes = [] };
            }
        }
        foreach (var id in expired)
            Log.MemberExpired(_logger, id.ToString(), _trust.MaxAge.TotalSeconds);
        if (expired.Count > 0)
            MembersChanged?.Invoke();
    }

    private static bool SameContent(Announcement a, Announcement b) =>
        a.WireGuardKey.AsSpan().SequenceEqual(b.WireGuardKey) && a.Endpoints.SequenceEqual(b.Endpoints) && a.Prefixes.SequenceEqual(b.Prefixes) && a.ProbePort == b.ProbePort;

    public void Dispose() => _socket.Dispose();
}
