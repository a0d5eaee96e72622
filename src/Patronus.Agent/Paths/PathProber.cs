using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datagrams;
using Patronus.Agent.Telemetry;
using Patronus.Netlink;

namespace Patronus.Agent.Paths;

/// <summary>A path's state changed.</summary>
public sealed record PathStateChange(string PathId, PathStatus Before, PathStatus After, TimeSpan At);

/// <summary>
/// Probes every path from one UDP socket on one tick thread: each tick sends a probe to every path's far end (a
/// <see cref="ProbeResponder"/>, reached through the path's tunnel by its address) after letting each path's
/// <see cref="PathMonitor"/> give up on overdue probes, so a silent path goes Down on the tick that finds it
/// silent. Replies are matched on the receive loop. Nothing per path but a monitor: no thread, socket or timer of its own,
/// so ten paths at 50 ms cost 200 small datagrams a second.
/// </summary>
public sealed partial class PathProber : IDisposable
{
    private readonly PathHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly long _start;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, ProbedPath> _byNumber = [];
    private readonly Dictionary<string, ProbedPath> _byId = new(StringComparer.Ordinal);
    private readonly LogRateLimit _refusalLog = new(10, TimeSpan.FromMinutes(1));
    private readonly LogRateLimit _sendLog = new(10, TimeSpan.FromMinutes(1));
    private uint _nextNumber = 1;

    /// <param name="local">The address the socket binds to (port 0 picks one); its family is the far ends'.</param>
    /// <param name="ns">The network namespace to open the socket in; null for the caller's.</param>
    public PathProber(PathHealthOptions options, IPEndPoint local, NetNs? ns, ILogger<PathProber> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(local);
        options.Validate();
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        _socket = ns is null ? Open(local) : ns.Run(() => Open(local));
    }

    /// <summary>Raised on the probing loops (hold no lock while handling it) when a path changes state.</summary>
    public event Action<PathStateChange>? StateChanged;

    /// <summary>Raised after every tick with every path's status: where a chooser decides.</summary>
    public event Action<IReadOnlyDictionary<string, PathStatus>, TimeSpan>? Probed;

    public ProbeRefusals Refused { get; } = new();

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Time since the prober started: the clock every status and event uses.</summary>
    public TimeSpan Now => _time.GetElapsedTime(_start);

    public IReadOnlyDictionary<string, PathStatus> Paths
    {
        get
        {
            lock (_lock)
                return _byId.ToDictionary(p => p.Key, p => p.Value.Monitor.Status, StringComparer.Ordinal);
        }
    }

    /// <summary>Starts probing a path (or moves an existing one to a new far end, keeping its history).</summary>
    public void AddPath(string pathId, IPEndPoint farEnd)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathId);
        ArgumentNullException.ThrowIfNull(farEnd);
        var target = _socket.AddressFamily == AddressFamily.InterNetworkV6 && farEnd.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(farEnd.Address.MapToIPv6(), farEnd.Port)
            : farEnd;
        lock (_lock)
        {
            if (_byId.TryGetValue(pathId, out var existing))
            {
                existing.FarEnd = target;
                return;
            }
            // Sequences start at random so a reply meant for an earlier prober (a restart) is not taken for ours.
            var path = new ProbedPath(pathId, _nextNumber++, target, new PathMonitor(_options, Now, (uint)Random.Shared.Next()));
            _byNumber[path.Number] = path;
            _byId[pathId] = path;
        }
    }

    public bool RemovePath(string pathId)
    {
        lock (_lock)
        {
            if (!_byId.Remove(pathId, out var path))
                return false;
            _byNumber.Remove(path.Number);
            return true;
        }
    }

    private static Socket Open(IPEndPoint local)
    {
        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (local.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = local.Address.Equals(IPAddress.IPv6Any);
            socket.Bind(local);
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Probes until cancelled. Ticks and replies each have a thread of their own (see <see cref="DedicatedThread"/>):
    /// a tick late by the time a busy thread pool takes would be a path declared Down late.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        var receiving = DatagramLoop.RunAsync("path-prober", _socket, ProbePacket.Size, (datagram, from) => Receive(datagram, (IPEndPoint)from),
            () => Refuse(ProbeRefusal.WrongLength, null), _logger, cancellationToken);
        var ticking = DedicatedThread.RunAsync("path-prober-tick", () => TickUntil(cancellationToken));
        return Task.WhenAll(receiving, ticking);
    }

    private void TickUntil(CancellationToken cancellationToken)
    {
        var interval = _options.ProbeInterval;
        var next = Now;
        while (!cancellationToken.IsCancellationRequested)
        {
            Tick();
            // On a fixed grid, so the interval does not drift by the tick's own cost; a tick that ran late does not
            // cause a burst of catch-up ticks, the grid just moves on.
            next += interval;
            var wait = next - Now;
            if (wait < TimeSpan.Zero)
            {
                next = Now;
                continue;
            }
            cancellationToken.WaitHandle.WaitOne(wait);
        }
    }

    /// <summary>One round: replies already here read, overdue probes given up on, silent paths taken Down, a new probe to every path.</summary>
    public void Tick()
    {
        ReadWaitingReplies();
        var probe = new byte[ProbePacket.Size];
        var changes = new List<PathStateChange>();
        var sends = new List<(string PathId, IPEndPoint FarEnd, byte[] Datagram)>();
        IReadOnlyDictionary<string, PathStatus> statuses;
        TimeSpan now;
        lock (_lock)
        {
            now = Now;
            foreach (var path in _byId.Values)
            {
                var before = path.Monitor.Status;
                path.Monitor.Evaluate(now);
                Changed(path, before, now, changes);
                var sequence = path.Monitor.ProbeSent(now);
                new ProbePacket(ProbeKind.Request, path.Number, sequence, ToWire(now)).Write(probe);
                sends.Add((path.Id, path.FarEnd, probe.ToArray()));
            }
            statuses = _byId.ToDictionary(p => p.Key, p => p.Value.Monitor.Status, StringComparer.Ordinal);
        }
        foreach (var (pathId, farEnd, datagram) in sends)
        {
            try
            {
                // A datagram socket's send does not wait for the network; a failure (no route while a tunnel is
                // down) only means this probe is lost, which the monitor finds out by itself.
                _socket.SendTo(datagram, SocketFlags.None, farEnd);
            }
            catch (SocketException e)
            {
                if (_sendLog.TryEnter(out var suppressed))
                    Log.SendFailed(_logger, pathId, farEnd.ToString(), e.Message, suppressed);
            }
        }
        Raise(changes);
        Probed?.Invoke(statuses, now);
    }

    /// <summary>
    /// Reads every datagram already queued on the socket before a tick judges silence: the receive loop's thread can
    /// be scheduled late on a busy node (two threads ready, one core free), and a reply that
    /// has arrived but not been read must not make its path Down. The socket is non-blocking, so this never waits.
    /// </summary>
    private void ReadWaitingReplies()
    {
        Span<byte> buffer = stackalloc byte[ProbePacket.Size + 1];
        EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        // Bounded, so a flood of datagrams cannot hold the tick back from sending probes.
        for (var i = 0; i < 1024 && _socket.Available > 0; i++)
        {
            int length;
            try
            {
                length = _socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
            }
            catch (SocketException)
            {
                // Nothing left (the receive loop took it), an oversized datagram, or an ICMP error: the loop handles those.
                return;
            }
            Receive(buffer[..length], (IPEndPoint)from);
        }
    }

    /// <summary>One datagram from the network, checked field by field before it counts as a reply.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        if (!ProbePacket.TryRead(datagram, out var packet, out var refusal))
        {
            Refuse(refusal, from);
            return;
        }
        if (packet.Kind != ProbeKind.Reply)
        {
            Refuse(ProbeRefusal.WrongDirection, from);
            return;
        }
        var changes = new List<PathStateChange>();
        ReplyVerdict verdict;
        lock (_lock)
        {
            if (!_byNumber.TryGetValue(packet.PathId, out var path) || !SameEndPoint(path.FarEnd, from))
            {
                refusal = ProbeRefusal.UnknownPath;
                verdict = ReplyVerdict.NotWaiting;
            }
            else
            {
                var now = Now;
                var before = path.Monitor.Status;
                verdict = path.Monitor.Answered(packet.Sequence, FromWire(packet.SentAtNanoseconds), now);
                refusal = verdict == ReplyVerdict.TimestampMismatch ? ProbeRefusal.TimestampMismatch : ProbeRefusal.NotWaiting;
                Changed(path, before, now, changes);
            }
        }
        if (verdict != ReplyVerdict.Accepted)
        {
            Refuse(refusal, from);
            return;
        }
        Raise(changes);
    }

    private static bool SameEndPoint(IPEndPoint expected, IPEndPoint actual) =>
        expected.Port == actual.Port && (expected.Address.Equals(actual.Address)
            || (actual.Address.IsIPv4MappedToIPv6 && expected.Address.Equals(actual.Address.MapToIPv4()))
            || (expected.Address.IsIPv4MappedToIPv6 && expected.Address.MapToIPv4().Equals(actual.Address)));

    // The wire carries nanoseconds; TimeSpan keeps 100 ns ticks, so the round trip is exact.
    internal static ulong ToWire(TimeSpan at) => (ulong)at.Ticks * 100;

    internal static TimeSpan FromWire(ulong nanoseconds) => TimeSpan.FromTicks((long)Math.Min(nanoseconds / 100, (ulong)long.MaxValue));

    private static void Changed(ProbedPath path, PathStatus before, TimeSpan now, List<PathStateChange> changes)
    {
        var after = path.Monitor.Status;
        if (after.State != before.State)
            changes.Add(new PathStateChange(path.Id, before, after, now));
    }

    private void Raise(List<PathStateChange> changes)
    {
        foreach (var change in changes)
        {
            Log.StateChanged(_logger, change.PathId, change.Before.State.ToString(), change.After.State.ToString(),
                change.After.Quality.LatencyMs ?? double.NaN, change.After.Quality.LossRatio * 100, change.After.Score);
            StateChanged?.Invoke(change);
        }
    }

    private void Refuse(ProbeRefusal reason, IPEndPoint? from)
    {
        Refused.Count(reason);
        if (_refusalLog.TryEnter(out var suppressed))
            Log.Refused(_logger, reason.ToString(), from?.ToString() ?? "?", suppressed);
    }

    public void Dispose() => _socket.Dispose();

    private sealed class ProbedPath(string id, uint number, IPEndPoint farEnd, PathMonitor monitor)
    {
        public string Id { get; } = id;

        public uint Number { get; } = number;

        public IPEndPoint FarEnd { get; set; } = farEnd;

        public PathMonitor Monitor { get; } = monitor;
    }
}
