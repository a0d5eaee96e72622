using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Services;

/// <summary>
/// A client namespace (where the ClusterSetIP table goes, as on a node) wired by veths to two backend namespaces standing
/// for two exporting clusters: a (10.10.1.2, 10.10.1.3, fd10:1::2) and b (10.10.2.2, fd10:2::2). Each backend answers a
/// connection with "ADDRESS:PORT" of the socket that accepted it, and again for every line the client sends. Namespaces
/// are named pcs-*, removed on dispose even when a test fails.
/// </summary>
public sealed class ClusterSetLab : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly List<TcpListener> _listeners = [];
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    public string Client { get; }
    public string A { get; }
    public string B { get; }

    public ClusterSetLab()
    {
        try
        {
            Client = _namespaces.Add($"pcs-{_id}-client");
            A = _namespaces.Add($"pcs-{_id}-a");
            B = _namespaces.Add($"pcs-{_id}-b");
            NetworkNamespace.Ip(Client, "link set lo up");
            foreach (var (ns, index) in new[] { (A, 1), (B, 2) })
            {
                NetworkNamespace.Ip(Client, $"link add c{index} type veth peer name eth0 netns {ns}");
                NetworkNamespace.Ip(Client, $"addr add 10.10.{index}.1/24 dev c{index}", $"addr add fd10:{index}::1/64 dev c{index} nodad", $"link set c{index} up");
                NetworkNamespace.Ip(ns, "link set lo up", $"addr add 10.10.{index}.2/24 dev eth0", $"addr add fd10:{index}::2/64 dev eth0 nodad", "link set eth0 up",
                    $"route add default via 10.10.{index}.1", $"-6 route add default via fd10:{index}::1");
            }
            NetworkNamespace.Ip(A, "addr add 10.10.1.3/24 dev eth0");
            // The VIP ranges need a route for the client's own connections to leave at all (DNAT in the output hook comes
            // after the first routing decision and re-routes); a node's default route does this in a cluster.
            NetworkNamespace.Ip(Client, "route add 10.112.0.0/16 dev c1", "-6 route add fd00:112::/112 dev c1");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string ClientPath => NetworkNamespace.PathOf(Client);

    /// <summary>Starts a backend answering on <paramref name="address"/>:<paramref name="port"/> in namespace <paramref name="ns"/>.</summary>
    public void Serve(string ns, string address, int port)
    {
        var started = new TaskCompletionSource<TcpListener>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            TcpListener listener;
            try
            {
                NetworkNamespace.Join(ns);
                listener = new TcpListener(IPAddress.Parse(address), port);
                listener.Start(256);
                started.SetResult(listener);
            }
            catch (Exception e)
            {
                started.SetException(e);
                return;
            }
            var identity = Encoding.ASCII.GetBytes($"{(address.Contains(':') ? $"[{address}]" : address)}:{port}\n");
            while (true)
            {
                Socket socket;
                try
                {
                    socket = listener.AcceptSocket();
                }
                catch (Exception)
                {
                    return; // stopped
                }
                // Each connection on its own thread (sockets keep their namespace whatever thread uses them).
                new Thread(() =>
                {
                    using (socket)
                    {
                        try
                        {
                            socket.Send(identity);
                            var buffer = new byte[64];
                            while (socket.Receive(buffer) > 0)
                                socket.Send(identity);
                        }
                        catch (SocketException)
                        {
                        }
                    }
                }) { IsBackground = true }.Start();
            }
        }) { IsBackground = true, Name = $"backend {address}:{port}" };
        thread.Start();
        lock (_listeners)
            _listeners.Add(started.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult());
    }

    /// <summary>Runs <paramref name="work"/> on a fresh thread inside the client namespace (never a pool thread) and returns its result.</summary>
    public T InClient<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                NetworkNamespace.Join(Client);
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException($"in {Client}: {failure.Message}", failure);
        return result;
    }

    /// <summary>Opens <paramref name="count"/> connections one after another and returns who answered each.</summary>
    public List<string> Connect(IPAddress vip, int port, int count) => InClient(() =>
    {
        var answers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var socket = Open(vip, port);
            answers.Add(ReadLine(socket));
        }
        return answers;
    });

    public static Socket Open(IPAddress vip, int port)
    {
        var socket = new Socket(vip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
        try
        {
            var connecting = socket.ConnectAsync(vip, port);
            if (!connecting.Wait(TimeSpan.FromSeconds(5)))
                throw new TimeoutException($"connect to {vip}:{port} timed out");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return socket;
    }

    public static string ReadLine(Socket socket)
    {
        var buffer = new byte[128];
        var length = 0;
        while (length == 0 || buffer[length - 1] != '\n')
        {
            var read = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (read == 0)
                throw new IOException("closed before a whole line");
            length += read;
        }
        return Encoding.ASCII.GetString(buffer, 0, length - 1);
    }

    public void Dispose()
    {
        lock (_listeners)
        {
            foreach (var listener in _listeners)
                listener.Stop();
            _listeners.Clear();
        }
        _namespaces.Dispose();
    }
}
