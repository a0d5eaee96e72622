using System.Buffers;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Hosting;
using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Endpoints;

/// <summary>
/// Serves the agent's unix socket: newline-delimited JSON requests, one reply line each, many requests per
/// connection allowed. The socket is root-only (0600): registering endpoints changes the node's policy.
/// Nothing a client does may take the agent down or starve other clients: a request is read into a buffer
/// of at most <see cref="AgentProtocol.MaxRequestBytes"/> and refused the moment it grows past that; a
/// connection that sends nothing, or half a request, is closed after a timeout; connections beyond
/// <see cref="AgentOptions.SocketMaxConnections"/> are answered with an error and closed; and the accept loop
/// outlives every error, backing off when the process is out of descriptors (EMFILE) until some are freed.
/// </summary>
public sealed partial class EndpointSocketServer(
    AgentOptions options,
    AgentRequestHandler handler,
    AgentMetrics metrics,
    ILogger<EndpointSocketServer> logger) : BackgroundService
{
    private static readonly TimeSpan MaxAcceptBackoff = TimeSpan.FromSeconds(1);

    private readonly LogRateLimit _refusalLog = new(10, TimeSpan.FromMinutes(1));
    private readonly LogRateLimit _acceptLog = new(5, TimeSpan.FromMinutes(1));
    private Socket? _listener;
    private int _connections;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var path = options.Socket;
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // A socket file left by an agent that died is in the way of bind; nobody is listening on it (the
        // instance lock says no other agent runs on this socket).
        if (File.Exists(path))
            File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(128);
        Log.Listening(logger, path);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var listener = _listener!;
        using var stop = stoppingToken.Register(listener.Dispose);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // EMFILE/ENFILE (SocketError.TooManyOpenSockets) and whatever else: the listener is still good,
                // and connections wait in its backlog until descriptors are free again.
                metrics.Errors.WithLabels("socket").Inc();
                var delay = TimeSpan.FromMilliseconds(Math.Min(MaxAcceptBackoff.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(failures++, 10))));
                if (_acceptLog.TryEnter(out var suppressed))
                    Log.AcceptFailed(logger, e.Message, delay.TotalMilliseconds, suppressed);
                try
                {
                    await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }

            if (Interlocked.Increment(ref _connections) > options.SocketMaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                _ = Task.Run(() => RefuseConnectionAsync(connection), CancellationToken.None);
                continue;
            }
            metrics.SocketConnections.Inc();
            _ = Task.Run(() => ServeAsync(connection, stoppingToken), CancellationToken.None);
        }
        try
        {
            File.Delete(options.Socket);
        }
        catch (IOException)
        {
        }
    }

    private async Task RefuseConnectionAsync(Socket connection)
    {
        using var _ = connection;
        Refused("connection_limit", $"more than {options.SocketMaxConnections} connections are open");
        try
        {
            using var timeout = new CancellationTokenSource(options.SocketRequestTimeout);
            await connection.SendAsync(AgentProtocol.EncodeReply(AgentReply.Failure(
                $"the agent is serving {options.SocketMaxConnections} connections already; try again")), SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket connection, CancellationToken stoppingToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var length = 0;
        try
        {
            using var _ = connection;
            await using var stream = new NetworkStream(connection, ownsSocket: false);
            var requestStarted = 0L;
            while (true)
            {
                var newline = Array.IndexOf(buffer, (byte)'\n', 0, length);
                if (newline < 0)
                {
                    if (length > AgentProtocol.MaxRequestBytes)
                    {
                        // Reading on to find the end would be buffering what we refuse: answer and hang up.
                        Refused("too_large", $"request is longer than {AgentProtocol.MaxRequestBytes} bytes");
                        await ReplyAsync(stream, AgentReply.Failure($"request is longer than {AgentProtocol.MaxRequestBytes} bytes"), stoppingToken).ConfigureAwait(false);
                        return;
                    }
                    if (length == buffer.Length)
                        buffer = Grow(buffer, length);
                    var partial = length > 0;
                    if (!partial)
                        requestStarted = 0;
                    var timeout = partial
                        ? options.SocketRequestTimeout - TimeProvider.System.GetElapsedTime(requestStarted)
                        : options.SocketIdleTimeout;
                    int read;
                    using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                    {
                        deadline.CancelAfter(timeout > TimeSpan.Zero ? timeout : TimeSpan.FromMilliseconds(1));
                        try
                        {
                            read = await connection.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, deadline.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                        {
                            if (partial)
                            {
                                Refused("timeout", $"request not complete within {options.SocketRequestTimeout.TotalSeconds:0.#} s");
                                await ReplyAsync(stream, AgentReply.Failure($"request not complete within {options.SocketRequestTimeout.TotalSeconds:0.#} s"), stoppingToken).ConfigureAwait(false);
                            }
                            else
                            {
                                Refused("idle", $"no request within {options.SocketIdleTimeout.TotalSeconds:0.#} s");
                            }
                            return;
                        }
                    }
                    if (read == 0)
                    {
                        if (partial)
                            Refused("malformed", "connection closed in the middle of a request");
                        return;
                    }
                    if (!partial)
                        requestStarted = TimeProvider.System.GetTimestamp();
                    length += read;
                    continue;
                }

                var lineLength = newline > 0 && buffer[newline - 1] == '\r' ? newline - 1 : newline;
                AgentRequest? request = null;
                AgentReply? reply = null;
                if (lineLength > 0)
                {
                    try
                    {
                        request = AgentProtocol.DecodeRequest(buffer.AsSpan(0, lineLength));
                    }
                    catch (AgentProtocolException e)
                    {
                        Refused("malformed", e.Message);
                        reply = AgentReply.Failure(e.Message);
                    }
                }
                // The rest of the buffer is the start of the next request.
                Buffer.BlockCopy(buffer, newline + 1, buffer, 0, length - newline - 1);
                length -= newline + 1;
                requestStarted = length > 0 ? TimeProvider.System.GetTimestamp() : 0;
                if (request is null && reply is null)
                    continue;
                reply ??= await handler.HandleAsync(request!, stoppingToken).ConfigureAwait(false);
                await ReplyAsync(stream, reply, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.ConnectionEnded(logger, e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _connections);
            metrics.SocketConnections.Dec();
        }
    }

    /// <summary>Doubles the buffer, up to one byte past the request cap (enough to know the cap is exceeded).</summary>
    private static byte[] Grow(byte[] buffer, int length)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, AgentProtocol.MaxRequestBytes + 1));
        Buffer.BlockCopy(buffer, 0, bigger, 0, length);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    /// <summary>Writes a reply, but no longer than a request may take: a client that does not read must not hold the agent.</summary>
    private async Task ReplyAsync(NetworkStream stream, AgentReply reply, CancellationToken stoppingToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(options.SocketRequestTimeout);
        await stream.WriteAsync(AgentProtocol.EncodeReply(reply), deadline.Token).ConfigureAwait(false);
    }

    private void Refused(string reason, string detail)
    {
        metrics.SocketRejected.WithLabels(reason).Inc();
        if (_refusalLog.TryEnter(out var suppressed))
            Log.RequestRefused(logger, reason, detail, suppressed);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listening for endpoint registrations on {Path}")]
        public static partial void Listening(ILogger logger, string path);

        [LoggerMessage(2, LogLevel.Debug, "Endpoint connection ended: {Error}")]
        public static partial void ConnectionEnded(ILogger logger, string error);

        [LoggerMessage(3, LogLevel.Warning, "Socket request refused ({Reason}): {Detail} ({Suppressed} similar lines left out before this one)")]
        public static partial void RequestRefused(ILogger logger, string reason, string detail, long suppressed);

        [LoggerMessage(4, LogLevel.Error, "Accepting a connection on the endpoint socket failed: {Error}; retrying in {DelayMs} ms ({Suppressed} similar lines left out before this one)")]
        public static partial void AcceptFailed(ILogger logger, string error, double delayMs, long suppressed);
    }
}
