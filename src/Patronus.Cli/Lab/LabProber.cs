using System.Net;
using System.Net.Sockets;
using Patronus.Cli.Reach;
using Patronus.Netlink;
using Patronus.Policy.Compiled;

namespace Patronus.Cli.Lab;

/// <summary>
/// Real traffic between the lab's pods: servers listening in every pod namespace and clients connecting
/// from every pod to every other. A socket belongs to the network namespace it was created in, so each
/// is created on a thread inside the pod's namespace and then used from anywhere, asynchronously.
/// </summary>
internal sealed class LabProber : IDisposable
{
    /// <summary>How long a probe waits for an answer. Denied traffic is dropped, so a denial costs this long.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1.5);

    private readonly List<Socket> _listeners = [];
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Listens on every probe's port in every pod namespace, on each of the pod's address families.</summary>
    public void Listen(IReadOnlyDictionary<LabPod, NetNs> pods, IEnumerable<Probe> probes)
    {
        foreach (var (pod, ns) in pods)
            foreach (var probe in probes.Distinct())
                foreach (var family in pod.Addresses.Select(a => a.AddressFamily).Distinct())
                {
                    var socket = ns.Run(() => Bind(family, probe));
                    _listeners.Add(socket);
                    _ = probe.Protocol == Protocol.Tcp ? AcceptLoop(socket) : EchoLoop(socket);
                }
    }

    /// <summary>Whether <paramref name="from"/> reaches <paramref name="to"/> on the probe's port: the matrix cell.</summary>
    public async Task<bool> ReachesAsync(NetNs from, LabPod to, Probe probe, CancellationToken cancellation)
    {
        var target = new IPEndPoint(to.Addresses[0], probe.Port);
        using var socket = from.Run(() => new Socket(target.AddressFamily,
            probe.Protocol == Protocol.Tcp ? SocketType.Stream : SocketType.Dgram,
            probe.Protocol == Protocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(Timeout);
        try
        {
            if (probe.Protocol == Protocol.Tcp)
            {
                await socket.ConnectAsync(target, deadline.Token);
                return true;
            }
            // UDP has no handshake: the server echoes a datagram back, and only an echo proves the path both ways.
            var token = Guid.NewGuid().ToByteArray();
            await socket.ConnectAsync(target, deadline.Token);
            await socket.SendAsync(token, deadline.Token);
            var buffer = new byte[64];
            var received = await socket.ReceiveAsync(buffer, deadline.Token);
            return buffer.AsSpan(0, received).SequenceEqual(token);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return false;
        }
        catch (SocketException)
        {
            // Refused (no listener) or unreachable: the traffic did not get through.
            return false;
        }
    }

    private static Socket Bind(AddressFamily family, Probe probe)
    {
        var tcp = probe.Protocol == Protocol.Tcp;
        var socket = new Socket(family, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
        if (family == AddressFamily.InterNetworkV6)
            socket.DualMode = false;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, probe.Port));
        if (tcp)
            socket.Listen(512);
        return socket;
    }

    private async Task AcceptLoop(Socket listener)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(_stop.Token);
                connection.Dispose();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task EchoLoop(Socket socket)
    {
        var buffer = new byte[64];
        EndPoint any = socket.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(IPAddress.Any, 0)
            : new IPEndPoint(IPAddress.IPv6Any, 0);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
                await socket.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None, received.RemoteEndPoint, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var listener in _listeners)
            listener.Dispose();
        _stop.Dispose();
    }
}
