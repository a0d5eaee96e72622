using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Datagrams;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Datagrams;

/// <summary>
/// The shared receive loop on real sockets in a throwaway namespace: what the network does to one datagram (an
/// ICMP error for an earlier send) and what a handler does wrong must cost that datagram, never the loop; and
/// cancellation ends it promptly.
/// </summary>
public sealed class DatagramLoopTests : IDisposable
{
    private readonly string _name = $"dgl-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly NetNs _ns;

    public DatagramLoopTests()
    {
        NetworkNamespace.Add(_name);
        NetworkNamespace.Ip(_name, "link set lo up");
        _ns = NetNs.OpenPath(NetworkNamespace.PathOf(_name));
    }

    public void Dispose()
    {
        _ns.Dispose();
        NetworkNamespace.TryDelete(_name);
    }

    private Socket Udp(int port = 0) => _ns.Run(() =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    });

    [Fact]
    public async Task AnIcmpErrorForAnEarlierSend_CostsNothingButThatDatagram()
    {
        // A connected datagram socket is told of the ICMP port-unreachable its send caused: the next receive fails
        // with ConnectionRefused. The loop must read on and deliver what arrives after.
        using var listener = Udp();
        var closedPort = FreePort();
        listener.Connect(new IPEndPoint(IPAddress.Loopback, closedPort));
        listener.Send("lost"u8);
        var received = new BlockingCollection<string>();
        using var stop = new CancellationTokenSource();
        var loop = DatagramLoop.RunAsync("test", listener, 64, (datagram, _) => received.Add(System.Text.Encoding.ASCII.GetString(datagram)), null,
            NullLogger.Instance, stop.Token);

        await Task.Delay(300);
        using (var sender = Udp(closedPort))
            sender.SendTo("after"u8, listener.LocalEndPoint!);

        Assert.True(received.TryTake(out var first, TimeSpan.FromSeconds(5)), "nothing delivered after the ICMP error");
        Assert.Equal("after", first);
        Assert.False(loop.IsCompleted);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task AHandlerThatThrows_DoesNotStopTheLoop()
    {
        using var listener = Udp();
        using var sender = Udp();
        var received = new BlockingCollection<string>();
        using var stop = new CancellationTokenSource();
        var loop = DatagramLoop.RunAsync("test", listener, 64, (datagram, _) =>
        {
            var text = System.Text.Encoding.ASCII.GetString(datagram);
            if (text == "bad")
                throw new InvalidOperationException("a handler bug");
            received.Add(text);
        }, null, NullLogger.Instance, stop.Token);

        sender.SendTo("bad"u8, listener.LocalEndPoint!);
        sender.SendTo("good"u8, listener.LocalEndPoint!);

        Assert.True(received.TryTake(out var text, TimeSpan.FromSeconds(5)));
        Assert.Equal("good", text);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task ADatagramOneByteOverTheLimit_ReachesTheHandlerWhole_SoItCanBeRefused()
    {
        using var listener = Udp();
        using var sender = Udp();
        var lengths = new BlockingCollection<int>();
        using var stop = new CancellationTokenSource();
        var loop = DatagramLoop.RunAsync("test", listener, 8, (datagram, _) => lengths.Add(datagram.Length), null, NullLogger.Instance, stop.Token);

        sender.SendTo(new byte[8], listener.LocalEndPoint!);
        sender.SendTo(new byte[100], listener.LocalEndPoint!);

        Assert.True(lengths.TryTake(out var exact, TimeSpan.FromSeconds(5)));
        Assert.True(lengths.TryTake(out var over, TimeSpan.FromSeconds(5)));
        Assert.Equal(8, exact);
        Assert.Equal(9, over);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task ClosingTheSocket_EndsTheLoop()
    {
        var listener = Udp();
        var loop = DatagramLoop.RunAsync("test", listener, 8, (_, _) => { }, null, NullLogger.Instance, CancellationToken.None);
        listener.Dispose();
        await loop.WaitAsync(TimeSpan.FromSeconds(2));
    }

    private int FreePort()
    {
        using var probe = Udp();
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
