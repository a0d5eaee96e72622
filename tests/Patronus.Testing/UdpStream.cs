using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Patronus.Testing;

/// <summary>
/// A steady UDP stream between two network namespaces (one datagram every <c>interval</c>, numbered), to measure
/// what a change does to traffic: the longest silence at the receiver and how many datagrams never came. The
/// sockets are made inside the namespaces; sending and receiving run on dedicated threads so that a busy test
/// thread pool cannot fake a gap.
/// </summary>
public sealed class UdpStream : IDisposable
{
    private readonly Socket _sender;
    private readonly Socket _receiver;
    private readonly IPEndPoint _to;
    private readonly TimeSpan _interval;
    private readonly Thread _sending;
    private readonly Thread _receiving;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private readonly List<(long Sequence, TimeSpan At)> _arrivals = [];
    private volatile bool _stopped;
    private long _sent;

    /// <param name="from">The sender's network namespace (its name).</param>
    /// <param name="to">The receiver's network namespace.</param>
    public UdpStream(string from, IPAddress source, string to, IPAddress destination, int port, TimeSpan interval)
    {
        _interval = interval;
        _to = new IPEndPoint(destination, port);
        _receiver = InNamespace(to, () =>
        {
            var socket = new Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(destination, port));
            socket.ReceiveTimeout = 200;
            return socket;
        });
        _sender = InNamespace(from, () =>
        {
            var socket = new Socket(source.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(source, 0));
            return socket;
        });
        _receiving = new Thread(Receive) { IsBackground = true, Name = "udp-stream-receive" };
        _sending = new Thread(Send) { IsBackground = true, Name = "udp-stream-send" };
        _receiving.Start();
        _sending.Start();
    }

    public long Sent => Interlocked.Read(ref _sent);

    private static Socket InNamespace(string name, Func<Socket> open)
    {
        Socket? socket = null;
        Exception? error = null;
        // A thread of its own enters the namespace and dies with it; the socket stays in that namespace.
        var thread = new Thread(() =>
        {
            try
            {
                NetworkNamespace.Join(name);
                socket = open();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new IOException($"cannot open a socket in namespace {name}", error);
    }

    public int Received
    {
        get
        {
            lock (_lock)
                return _arrivals.Count;
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> datagrams arrived, or the timeout.</summary>
    public bool WaitForArrivals(int count, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (Received >= count)
                return true;
            Thread.Sleep(20);
        }
        return Received >= count;
    }

    /// <summary>Stops sending, lets the last datagrams land, and reports.</summary>
    public UdpStreamResult Stop()
    {
        _stopped = true;
        _sending.Join();
        Thread.Sleep(300);
        _receiving.Join();
        lock (_lock)
        {
            var gap = TimeSpan.Zero;
            for (var i = 1; i < _arrivals.Count; i++)
            {
                var between = _arrivals[i].At - _arrivals[i - 1].At;
                if (between > gap)
                    gap = between;
            }
            var distinct = _arrivals.Select(a => a.Sequence).Distinct().Count();
            return new UdpStreamResult(Sent, distinct, Sent - distinct, gap);
        }
    }

    private void Send()
    {
        var buffer = new byte[64];
        var next = _clock.Elapsed;
        while (!_stopped)
        {
            BinaryPrimitives.WriteInt64BigEndian(buffer, _sent);
            try
            {
                _sender.SendTo(buffer, _to);
            }
            catch (SocketException)
            {
                // No route for a moment is a lost datagram, which is what is measured.
            }
            Interlocked.Increment(ref _sent);
            next += _interval;
            var wait = next - _clock.Elapsed;
            if (wait > TimeSpan.Zero)
                Thread.Sleep(wait);
        }
    }

    private void Receive()
    {
        var buffer = new byte[64];
        var quietSince = TimeSpan.Zero;
        while (true)
        {
            try
            {
                var n = _receiver.Receive(buffer);
                if (n >= 8)
                {
                    lock (_lock)
                        _arrivals.Add((BinaryPrimitives.ReadInt64BigEndian(buffer), _clock.Elapsed));
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                if (_stopped && _clock.Elapsed - quietSince > TimeSpan.FromMilliseconds(200))
                    return;
                continue;
            }
            quietSince = _clock.Elapsed;
        }
    }

    public void Dispose()
    {
        _stopped = true;
        if (_sending.IsAlive)
            _sending.Join();
        if (_receiving.IsAlive)
            _receiving.Join();
        _sender.Dispose();
        _receiver.Dispose();
    }
}

/// <param name="LongestGap">The longest time between two arrivals while the stream ran.</param>
public sealed record UdpStreamResult(long Sent, long Received, long Lost, TimeSpan LongestGap)
{
    public override string ToString() => $"sent {Sent}, received {Received}, lost {Lost}, longest gap {LongestGap.TotalMilliseconds:0} ms";
}
