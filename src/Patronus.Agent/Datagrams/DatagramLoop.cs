using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Datagrams;

/// <summary>Handles one datagram; the span is only valid during the call.</summary>
public delegate void DatagramHandler(ReadOnlySpan<byte> datagram, EndPoint from);

/// <summary>
/// The receive loop every UDP listener of the agent shares (announcements, path probes, probe replies). It runs on
/// a thread of its own rather than on the thread pool: a path's failover is judged by how soon replies are read,
/// and a pool starved by a burst of work elsewhere in the agent delayed a reply by a whole second. The loop ends
/// only when it is cancelled or its socket is closed; every error the network can cause on a datagram socket
/// (an ICMP error for an earlier send, a datagram larger than the buffer) costs that datagram, never the loop.
/// </summary>
public static partial class DatagramLoop
{
    /// <summary>How long one wait for a datagram lasts before cancellation is looked at again.</summary>
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(200);

    /// <summary>Errors a datagram socket reports for what the network did to one datagram: the next one is unaffected.</summary>
    public static bool IsTransient(SocketError error) => error is SocketError.ConnectionReset or SocketError.ConnectionRefused
        or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.NetworkDown
        or SocketError.MessageSize or SocketError.WouldBlock or SocketError.TryAgain or SocketError.Interrupted;

    /// <summary>
    /// Receives on <paramref name="socket"/> until cancelled (or the socket is closed), handing each datagram to
    /// <paramref name="onDatagram"/>. The buffer holds one byte over <paramref name="maxSize"/>, so a handler can
    /// tell a datagram of exactly the largest size from a longer one; <paramref name="onOversized"/> hears of
    /// those the kernel reports as truncated.
    /// </summary>
    /// <param name="name">Names the thread (seen in a debugger or <c>/proc</c>) and the log lines.</param>
    public static Task RunAsync(string name, Socket socket, int maxSize, DatagramHandler onDatagram, Action? onOversized, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(onDatagram);
        return DedicatedThread.RunAsync(name, () => Receive(name, socket, maxSize, onDatagram, onOversized, logger, cancellationToken));
    }

    private static void Receive(string name, Socket socket, int maxSize, DatagramHandler onDatagram, Action? onOversized, ILogger logger, CancellationToken cancellationToken)
    {
        var buffer = new byte[maxSize + 1];
        var any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        var pollMicroseconds = (int)(PollSlice.Ticks / 10);
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            EndPoint from = any;
            try
            {
                // Poll, then a receive that cannot block: the socket may be non-blocking (a prober also reads what is
                // queued before each tick), and cancellation is seen within one slice without closing the socket.
                if (!socket.Poll(pollMicroseconds, SelectMode.SelectRead))
                    continue;
                length = socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (IsTransient(e.SocketErrorCode))
            {
                if (e.SocketErrorCode == SocketError.MessageSize)
                    onOversized?.Invoke();
                continue;
            }
            catch (SocketException e)
            {
                // Not something one datagram causes; said, and the loop goes on after a pause rather than spinning.
                Log.ReceiveFailed(logger, name, e.SocketErrorCode.ToString(), e.Message);
                cancellationToken.WaitHandle.WaitOne(PollSlice);
                continue;
            }
            try
            {
                onDatagram(buffer.AsSpan(0, length), from);
            }
            catch (Exception e)
            {
                // A handler's bug must not stop every later datagram from being read.
                Log.HandlerFailed(logger, name, from.ToString() ?? "?", e.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1101, LogLevel.Warning, "Receive loop {Name}: {Error} ({Message}); receiving again")]
        public static partial void ReceiveFailed(ILogger logger, string name, string error, string message);

        [LoggerMessage(1102, LogLevel.Error, "Receive loop {Name}: handling a datagram from {From} failed: {Message}")]
        public static partial void HandlerFailed(ILogger logger, string name, string from, string message);
    }
}
