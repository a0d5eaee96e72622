using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Netlink;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// A TCP and a UDP server on one port in a lab namespace, on each of the given addresses, that answer every message
/// with the peer's address as they see it: whether a packet got there, and with which source address (masquerade).
/// Its sockets are made inside the namespace; the traffic is the kernel's.
/// </summary>
internal sealed class PeerEcho : IDisposable
{
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();

    public PeerEcho(string netns, IEnumerable<IPAddress> addresses, int port)
    {
        using var ns = NetNs.OpenNamed(netns);
        foreach (var address in addresses)
        {
            var tcp = ns.Run(() => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            tcp.Bind(new IPEndPoint(address, port));
            tcp.Listen(64);
            _sockets.Add(tcp);
            _ = AcceptAsync(tcp);
            var udp = ns.Run(() => new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
            udp.Bind(new IPEndPoint(address, port));
            _sockets.Add(udp);
            _ = AnswerAsync(udp);
        }
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (connection)
                {
                    var peer = Encoding.ASCII.GetBytes(((IPEndPoint)connection.RemoteEndPoint!).Address.ToString() + "\n");
                    var buffer = new byte[4096];
                    try
                    {
                        // One answer per message received: a long-lived connection is an echo that goes on.
                        while (await connection.ReceiveAsync(buffer, _stop.Token) > 0)
                            await connection.SendAsync(peer, _stop.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                    {
                    }
                }
            });
        }
    }

    private async Task AnswerAsync(Socket udp)
    {
        var buffer = new byte[2048];
        var any = new IPEndPoint(udp.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var received = await udp.ReceiveFromAsync(buffer, any, _stop.Token);
                var peer = (IPEndPoint)received.RemoteEndPoint;
                await udp.SendToAsync(Encoding.ASCII.GetBytes(peer.Address + "\n"), peer, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>The address the server at <paramref name="to"/> saw this TCP connection come from, or null when it could not be reached.</summary>
    public static async Task<string?> TcpPeerAsync(string fromNetns, IPEndPoint to, TimeSpan timeout)
    {
        using var ns = NetNs.OpenNamed(fromNetns);
        using var socket = ns.Run(() => new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(to, cancel.Token);
            await socket.SendAsync("hello\n"u8.ToArray(), cancel.Token);
            var buffer = new byte[256];
            var length = await socket.ReceiveAsync(buffer, cancel.Token);
            return Encoding.ASCII.GetString(buffer, 0, length).Trim();
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    /// <summary>The address the server at <paramref name="to"/> saw a UDP datagram come from (three tries), or null.</summary>
    public static async Task<string?> UdpPeerAsync(string fromNetns, IPEndPoint to, TimeSpan timeout)
    {
        using var ns = NetNs.OpenNamed(fromNetns);
        using var socket = ns.Run(() => new Socket(to.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
        socket.Connect(to);
        var buffer = new byte[256];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var cancel = new CancellationTokenSource(timeout / 3);
            try
            {
                await socket.SendAsync("hello\n"u8.ToArray(), cancel.Token);
                var length = await socket.ReceiveAsync(buffer, cancel.Token);
                return Encoding.ASCII.GetString(buffer, 0, length).Trim();
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
            }
        }
        return null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var socket in _sockets)
            socket.Dispose();
        _stop.Dispose();
    }
}
