using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Patronus.Testing;

namespace Patronus.Bench.Nftables;

/// <summary>TCP listeners in the server pod, so an admitted probe completes its handshake.</summary>
internal sealed class ProbeListeners : IDisposable
{
    private readonly List<Socket> _sockets = new();

    public ProbeListeners(BenchLab lab, int[] ports)
    {
        var thread = new Thread(() =>
        {
            NetworkNamespace.Join(lab.Server);
            foreach (var port in ports)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(lab.ServerAddress, port));
                s.Listen(1024);
                _sockets.Add(s);
            }
        });
        thread.Start();
        thread.Join();
        foreach (var s in _sockets)
            _ = Task.Run(async () =>
            {
                try
                {
                    while (true)
                        (await s.AcceptAsync()).Dispose();
                }
                catch (Exception)
                {
                }
            });
    }

    public void Dispose()
    {
        foreach (var s in _sockets)
            s.Dispose();
    }
}

/// <summary>A probe thread in the client pod: a fresh non-blocking connect every ~2 ms until one completes.</summary>
internal sealed class Probe : IDisposable
{
    private readonly BenchLab _lab;
    private readonly int _port;
    private readonly ManualResetEventSlim _done = new();
    private volatile bool _stop;
    private double _firstSuccessMs = double.NaN;
    private Thread? _thread;

    public Probe(BenchLab lab, int port)
    {
        _lab = lab;
        _port = port;
    }

    public void Start(long startedTimestamp)
    {
        _thread = new Thread(() =>
        {
            NetworkNamespace.Join(_lab.Client);
            while (!_stop)
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try
                {
                    s.Connect(new IPEndPoint(_lab.ServerAddress, _port));
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                }
                // Poll for writability: the handshake completed, i.e. the SYN was admitted.
                if (s.Poll(2000, SelectMode.SelectWrite) && (int)s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)! == 0)
                {
                    _firstSuccessMs = Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds;
                    _done.Set();
                    return;
                }
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public double WaitFirstSuccess(TimeSpan timeout)
    {
        if (!_done.Wait(timeout))
            throw new TimeoutException($"port {_port} never became reachable");
        return _firstSuccessMs;
    }

    /// <summary>One blocking check with a short wait (the bench's own sanity check, not a measurement).</summary>
    public static bool Connects(BenchLab lab, int port)
    {
        var result = false;
        var thread = new Thread(() =>
        {
            NetworkNamespace.Join(lab.Client);
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            result = s.ConnectAsync(new IPEndPoint(lab.ServerAddress, port)).Wait(300);
        });
        thread.Start();
        thread.Join();
        return result;
    }

    public void Dispose()
    {
        _stop = true;
        _thread?.Join();
    }
}
