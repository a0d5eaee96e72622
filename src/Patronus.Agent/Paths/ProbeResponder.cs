using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datagrams;
using Patronus.Agent.Telemetry;
using Patronus.Netlink;

namespace Patronus.Agent.Paths;

/// <summary>
/// The far end of every path: answers each well-formed probe request with its reply (the same datagram, kind
/// changed) to the address it came from. Anything else is dropped and counted; nothing is answered twice its
/// size, so the responder cannot be used to amplify traffic. Probes run inside the tunnels, whose WireGuard
/// layer has already authenticated the sender.
/// </summary>
public sealed partial class ProbeResponder : IDisposable
{
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly LogRateLimit _refusalLog = new(10, TimeSpan.FromMinutes(1));

    /// <param name="listen">Address and port to answer on (port 0 picks one).</param>
    /// <param name="ns">The network namespace to open the socket in; null for the caller's.</param>
    public ProbeResponder(IPEndPoint listen, NetNs? ns, ILogger<ProbeResponder> logger)
    {
        ArgumentNullException.ThrowIfNull(listen);
        _logger = logger;
        _socket = ns is null ? Open(listen) : ns.Run(() => Open(listen));
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public ProbeRefusals Refused { get; } = new();

    public long Answered => Interlocked.Read(ref _answered);

    private long _answered;

    private static Socket Open(IPEndPoint listen)
    {
        var socket = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (listen.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = listen.Address.Equals(IPAddress.IPv6Any);
            socket.Bind(listen);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public Task RunAsync(CancellationToken cancellationToken) =>
        DatagramLoop.RunAsync("probe-responder", _socket, ProbePacket.Size, Answer, () => Refuse(ProbeRefusal.WrongLength, null), _logger, cancellationToken);

    private void Answer(ReadOnlySpan<byte> received, EndPoint from)
    {
        // Answered in place: the reply is the request with its kind changed, so it is never larger.
        Span<byte> datagram = stackalloc byte[received.Length];
        received.CopyTo(datagram);
        if (!ProbePacket.TryTurnIntoReply(datagram, out var refusal))
        {
            Refuse(refusal, from);
            return;
        }
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, from);
            Interlocked.Increment(ref _answered);
        }
        catch (SocketException e)
        {
            // The prober's side may be unreachable right now; it counts the probe as lost.
            Log.ReplyFailed(_logger, from.ToString() ?? "?", e.Message);
        }
    }

    private void Refuse(ProbeRefusal reason, EndPoint? from)
    {
        Refused.Count(reason);
        if (_refusalLog.TryEnter(out var suppressed))
            Log.Refused(_logger, reason.ToString(), from?.ToString() ?? "?", suppressed);
    }

    public void Dispose() => _socket.Dispose();
}
