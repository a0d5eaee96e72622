using System.Net;
using System.Net.Sockets;
using System.Text;
using Patronus.Netlink;

namespace Patronus.Cli.Tests.Lab.Services;

/// <summary>
/// A TCP server in a lab pod that answers every connection with its own name and closes it: which backend a connection
/// reached. Its socket is made inside the pod's namespace; the traffic is the kernel's.
/// </summary>
internal sealed class NameServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();

    public NameServer(string netns, string name, int port)
    {
        using var ns = NetNs.OpenNamed(netns);
        _listener = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(IPAddress.Any, port));
        _listener.Listen(256);
        var answer = Encoding.ASCII.GetBytes(name + "\n");
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var connection = await _listener.AcceptAsync(_stop.Token);
                    await connection.SendAsync(answer, _stop.Token);
                    connection.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    if (_stop.IsCancellationRequested)
                        return;
                }
            }
        });
    }

    /// <summary>The name the server at <paramref name="to"/> answered a new connection with, or null when none answered in time.</summary>
    public static async Task<string?> AskAsync(string fromNetns, IPEndPoint to, TimeSpan timeout)
    {
        using var ns = NetNs.OpenNamed(fromNetns);
        using var socket = ns.Run(() => new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(to, cancel.Token);
            var buffer = new byte[256];
            var length = await socket.ReceiveAsync(buffer, cancel.Token);
            return length == 0 ? null : Encoding.ASCII.GetString(buffer, 0, length).Trim();
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _stop.Dispose();
    }
}
