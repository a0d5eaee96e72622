using System.Net;
using System.Net.Sockets;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Datapath.Nftables;

/// <summary>
/// A node network namespace with a bridge, and pod namespaces on it through veths: the shape the CNI plugin
/// builds. Everything lives in namespaces named pnft-*, removed on dispose even when a test fails.
/// </summary>
public sealed class PodNetworkLab : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    public string Node { get; }
    public string NodePath => NetworkNamespace.PathOf(Node);
    public Dictionary<string, Pod> Pods { get; } = new();

    public sealed record Pod(string Name, string Namespace, IPAddress V4, IPAddress V6);

    public PodNetworkLab(params string[] pods) : this(0, pods)
    {
    }

    /// <param name="subnet">Pods get 10.77.{subnet}.11+ and fd77:{subnet}::11+, the node's bridge .1.</param>
    public PodNetworkLab(int subnet, params string[] pods)
    {
        Subnet = subnet;
        Node = Add("node");
        try
        {
            Ip(Node, "link add br0 type bridge");
            Ip(Node, $"addr add 10.77.{subnet}.1/24 dev br0");
            Ip(Node, $"addr add fd77:{subnet}::1/64 dev br0 nodad");
            Ip(Node, "link set br0 up");
            Ip(Node, "link set lo up");
            var index = 11;
            foreach (var name in pods)
            {
                var ns = Add(name);
                var host = $"veth{index}";
                Ip(Node, $"link add {host} type veth peer name eth0 netns {ns}");
                Ip(Node, $"link set {host} master br0 up");
                Ip(ns, "link set lo up");
                Ip(ns, $"addr add 10.77.{subnet}.{index}/24 dev eth0");
                Ip(ns, $"addr add fd77:{subnet}::{index}/64 dev eth0 nodad");
                Ip(ns, "link set eth0 up");
                Ip(ns, $"route add default via 10.77.{subnet}.1");
                Pods[name] = new Pod(name, ns, IPAddress.Parse($"10.77.{subnet}.{index}"), IPAddress.Parse($"fd77:{subnet}::{index}"));
                index++;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public Pod this[string name] => Pods[name];

    public int Subnet { get; }

    /// <summary>Links two nodes with a veth and routes each one's pod subnet through the other: traffic between them is routed.</summary>
    public static void Connect(PodNetworkLab one, PodNetworkLab two)
    {
        Ip(one.Node, $"link add up0 type veth peer name up0 netns {two.Node}");
        Ip(one.Node, "addr add 192.168.77.1/30 dev up0");
        Ip(two.Node, "addr add 192.168.77.2/30 dev up0");
        Ip(one.Node, "link set up0 up");
        Ip(two.Node, "link set up0 up");
        Ip(one.Node, $"route add 10.77.{two.Subnet}.0/24 via 192.168.77.2");
        Ip(two.Node, $"route add 10.77.{one.Subnet}.0/24 via 192.168.77.1");
        foreach (var node in new[] { one.Node, two.Node })
            Run("ip", $"netns exec {node} sysctl -qw net.ipv4.ip_forward=1");
    }

    private string Add(string suffix) => _namespaces.Add($"pnft-{_id}-{suffix}");

    public static void Ip(string ns, string args) => Run("ip", $"-n {ns} {args}");

    /// <summary>Runs nft inside a namespace (verification only: product code goes through libnftables).</summary>
    public string Nft(string args) => Run("ip", $"netns exec {Node} nft {args}");

    public static string Run(string file, string args)
    {
        var result = Command.Run(file, args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} failed ({result.ExitCode}): {result.Stderr}");
        return result.Stdout;
    }

    public void Dispose() => _namespaces.Dispose();
}

/// <summary>Sockets opened inside a pod's network namespace: created on a short-lived thread that setns()es, usable anywhere after.</summary>
public static class PodSockets
{
    public static Socket Open(string ns, AddressFamily family, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                NetworkNamespace.Join(ns);
                socket = new Socket(family, type, protocol);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw failure;
        return socket!;
    }

    /// <summary>A TCP server in a pod that accepts and echoes until disposed.</summary>
    public static TcpEcho ListenTcp(PodNetworkLab.Pod pod, int port, bool v6 = false) => new(pod, port, v6);

    /// <remarks>Blocking loops on dedicated threads: pool threads are scarce on two cores while tests block.</remarks>
    public sealed class TcpEcho : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _clients = new();

        public TcpEcho(PodNetworkLab.Pod pod, int port, bool v6)
        {
            var address = v6 ? pod.V6 : pod.V4;
            _listener = Open(pod.Namespace, address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(address, port));
            _listener.Listen(64);
            new Thread(AcceptLoop) { IsBackground = true }.Start();
        }

        private void AcceptLoop()
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = _listener.Accept();
                }
                catch (Exception)
                {
                    return;
                }
                lock (_clients)
                    _clients.Add(client);
                new Thread(() => EchoLoop(client)) { IsBackground = true }.Start();
            }
        }

        private static void EchoLoop(Socket client)
        {
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = client.Receive(buffer)) > 0)
                    client.Send(buffer, n, SocketFlags.None);
            }
            catch (Exception)
            {
            }
        }

        public void Dispose()
        {
            _listener.Dispose();
            lock (_clients)
                foreach (var client in _clients)
                    client.Dispose();
        }
    }

    /// <summary>Whether a TCP connection from a pod to an address opens. A dropped SYN shows as no answer within the wait.</summary>
    public static bool TcpConnects(PodNetworkLab.Pod from, IPAddress to, int port, int waitMs = 5000)
    {
        using var socket = Open(from.Namespace, to.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(waitMs);
        try
        {
            socket.ConnectAsync(new IPEndPoint(to, port), cts.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            throw new InvalidOperationException($"{to}:{port} refused: no listener there, the probe is miswired", e);
        }
    }

    /// <summary>Whether a UDP datagram from a pod reaches a port on another pod.</summary>
    public static bool UdpDelivers(PodNetworkLab.Pod from, PodNetworkLab.Pod to, int port, bool v6 = false, int waitMs = 5000)
    {
        var target = v6 ? to.V6 : to.V4;
        using var receiver = Open(to.Namespace, target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // The previous probe's receiver on this port may still be closing: .NET defers the close of a socket
        // whose canceled receive the event loop has not retired yet, and a bind meanwhile gets EADDRINUSE.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                receiver.Bind(new IPEndPoint(target, port));
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 100)
            {
                Thread.Sleep(20);
            }
        }
        using var sender = Open(from.Namespace, target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var payload = Guid.NewGuid().ToByteArray();
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(waitMs);
        var receive = receiver.ReceiveAsync(buffer, SocketFlags.None, cts.Token).AsTask();
        // A few sends: the first may be spent on neighbour resolution.
        for (var i = 0; i < 10 && !receive.IsCompleted; i++)
        {
            sender.SendTo(payload, new IPEndPoint(target, port));
            Task.WaitAny([receive], Math.Min(200, waitMs / 10));
        }
        try
        {
            var n = receive.GetAwaiter().GetResult();
            return buffer.AsSpan(0, n).SequenceEqual(payload);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
