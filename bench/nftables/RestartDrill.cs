using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Testing;

namespace Patronus.Bench.Nftables;

/// <summary>
/// The kill -9 drill. An "agent" (this program in `hold` mode, a separate process) programs the 1,000 policies
/// and waits. Under traffic, the drill kills it with SIGKILL, checks allowed traffic still flows and denied
/// traffic stays denied, starts a second agent that reconciles the same policies, and checks again. Traffic:
/// one long-lived allowed TCP connection echoing every millisecond (largest gap between echoes reported), and
/// a prober repeatedly trying a port no rule admits (must never connect).
/// </summary>
internal static class RestartDrill
{
    private const int AllowedPort = 5201;
    private const int DeniedPort = 5999;

    /// <summary>`hold NETNS CLIENT SERVER`: reconcile, say "ready", wait to be killed.</summary>
    public static int Hold(string netnsPath, IPAddress client, IPAddress server)
    {
        var datapath = new NftablesDatapath(new NftablesDatapathOptions { NetworkNamespacePath = netnsPath });
        var started = Stopwatch.StartNew();
        datapath.Reconcile([BenchPolicies.Client(client), BenchPolicies.Server(client, server, AllowedPort)]);
        Console.WriteLine($"ready {started.Elapsed.TotalMilliseconds:F1}");
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    public static int Run()
    {
        using var lab = new BenchLab();
        using var listeners = new ProbeListeners(lab, [DeniedPort]);
        using var echo = new EchoServer(lab, AllowedPort);

        var first = StartAgent(lab, out var firstMs);
        Console.WriteLine($"agent 1 (pid {first.Id}) reconciled {BenchPolicies.Count} policies in {firstMs} ms");
        if (Probe.Connects(lab, DeniedPort))
            throw new InvalidOperationException("denied port open before the drill");

        using var traffic = new EchoTraffic(lab, AllowedPort);
        using var denied = new DeniedProber(lab, DeniedPort);
        Thread.Sleep(1000);

        first.Kill(); // SIGKILL: no cleanup runs in the agent
        first.WaitForExit();
        Console.WriteLine("agent 1 killed with SIGKILL");
        Thread.Sleep(1000);
        var whileDown = traffic.Echoes;

        var second = StartAgent(lab, out var secondMs);
        Console.WriteLine($"agent 2 (pid {second.Id}) reconciled in {secondMs} ms");
        Thread.Sleep(1000);
        second.Kill();
        second.WaitForExit();

        traffic.Stop();
        denied.Stop();
        Console.WriteLine();
        Console.WriteLine($"RESULT restart: {traffic.Echoes} echoes on the allowed connection ({whileDown} by the time agent 2 started), {traffic.Failures} failed, largest gap {traffic.LargestGapMs:F1} ms");
        Console.WriteLine($"RESULT restart: {denied.Attempts} connection attempts to the denied port, {denied.Successes} got through");
        return traffic.Failures == 0 && denied.Successes == 0 ? 0 : 1;
    }

    private static Process StartAgent(BenchLab lab, out string reconcileMs)
    {
        var self = typeof(RestartDrill).Assembly.Location;
        var process = BenchLab.Start(Environment.ProcessPath!, $"{self} hold {lab.NodePath} {lab.ClientAddress} {lab.ServerAddress}");
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"agent exited: {process.StandardError.ReadToEnd()}");
        reconcileMs = line.Split(' ')[1];
        return process;
    }

    /// <summary>Echoes on the allowed port, on dedicated threads in the server pod.</summary>
    private sealed class EchoServer : IDisposable
    {
        private readonly Socket _listener;

        public EchoServer(BenchLab lab, int port)
        {
            _listener = InNamespace(lab.Server);
            _listener.Bind(new IPEndPoint(lab.ServerAddress, port));
            _listener.Listen(16);
            new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        var client = _listener.Accept();
                        new Thread(() =>
                        {
                            var buffer = new byte[64];
                            try
                            {
                                int n;
                                while ((n = client.Receive(buffer)) > 0)
                                    client.Send(buffer, n, SocketFlags.None);
                            }
                            catch (SocketException)
                            {
                            }
                        }) { IsBackground = true }.Start();
                    }
                }
                catch (Exception)
                {
                }
            }) { IsBackground = true }.Start();
        }

        public void Dispose() => _listener.Dispose();
    }

    private sealed class EchoTraffic : IDisposable
    {
        private readonly Socket _socket;
        private readonly Thread _thread;
        private volatile bool _stop;
        public int Echoes;
        public int Failures;
        public double LargestGapMs;

        public EchoTraffic(BenchLab lab, int port)
        {
            _socket = InNamespace(lab.Client);
            _socket.Connect(lab.ServerAddress, port);
            _socket.ReceiveTimeout = 2000;
            _thread = new Thread(Loop) { IsBackground = true };
            _thread.Start();
        }

        private void Loop()
        {
            var payload = Encoding.ASCII.GetBytes("tick");
            var buffer = new byte[payload.Length];
            var last = Stopwatch.GetTimestamp();
            while (!_stop)
            {
                try
                {
                    _socket.Send(payload);
                    var got = 0;
                    while (got < buffer.Length)
                        got += _socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
                    var now = Stopwatch.GetTimestamp();
                    LargestGapMs = Math.Max(LargestGapMs, Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                    last = now;
                    Interlocked.Increment(ref Echoes);
                }
                catch (SocketException)
                {
                    Interlocked.Increment(ref Failures);
                }
                Thread.Sleep(1);
            }
        }

        public void Stop()
        {
            _stop = true;
            _thread.Join();
        }

        public void Dispose()
        {
            Stop();
            _socket.Dispose();
        }
    }

    private sealed class DeniedProber : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        public int Attempts;
        public int Successes;

        public DeniedProber(BenchLab lab, int port)
        {
            _thread = new Thread(() =>
            {
                NetworkNamespace.Join(lab.Client);
                while (!_stop)
                {
                    using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                    try
                    {
                        s.Connect(new IPEndPoint(lab.ServerAddress, port));
                    }
                    catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                    {
                    }
                    if (s.Poll(20_000, SelectMode.SelectWrite) && (int)s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)! == 0)
                        Interlocked.Increment(ref Successes);
                    Interlocked.Increment(ref Attempts);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public void Stop()
        {
            _stop = true;
            _thread.Join();
        }

        public void Dispose() => Stop();
    }

    private static Socket InNamespace(string ns)
    {
        Socket? socket = null;
        var thread = new Thread(() =>
        {
            NetworkNamespace.Join(ns);
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        });
        thread.Start();
        thread.Join();
        return socket!;
    }
}
