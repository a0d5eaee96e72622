using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Endpoints;

/// <summary>
/// Serves the agent's unix socket: newline-delimited JSON requests, one reply line each, many requests per
/// connection allowed. The socket is root-only (0600): registering endpoints changes the node's policy.
/// </summary>
public sealed partial class EndpointSocketServer(AgentOptions options, AgentRequestHandler handler, ILogger<EndpointSocketServer> logger) : BackgroundService
{
    private Socket? _listener;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var path = options.Socket;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // A socket file left by an agent that died is in the way of bind; nobody is listening on it.
        if (File.Exists(path))
            File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(128);
        Log.Listening(logger, path);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var listener = _listener!;
        using var stop = stoppingToken.Register(listener.Dispose);
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && stoppingToken.IsCancellationRequested)
            {
                break;
            }
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

    private async Task ServeAsync(Socket connection, CancellationToken stoppingToken)
    {
        using var _ = connection;
        await using var stream = new NetworkStream(connection, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096);
        try
        {
            while (await reader.ReadLineAsync(stoppingToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                    continue;
                AgentReply reply;
                if (line.Length > AgentProtocol.MaxMessageBytes)
                {
                    reply = AgentReply.Failure($"request is longer than {AgentProtocol.MaxMessageBytes} bytes");
                }
                else
                {
                    try
                    {
                        reply = await handler.HandleAsync(AgentProtocol.DecodeRequest(Encoding.UTF8.GetBytes(line)), stoppingToken).ConfigureAwait(false);
                    }
                    catch (AgentProtocolException e)
                    {
                        reply = AgentReply.Failure(e.Message);
                    }
                }
                await stream.WriteAsync(AgentProtocol.EncodeReply(reply), stoppingToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            Log.ConnectionEnded(logger, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listening for endpoint registrations on {Path}")]
        public static partial void Listening(ILogger logger, string path);

        [LoggerMessage(2, LogLevel.Debug, "Endpoint connection ended: {Error}")]
        public static partial void ConnectionEnded(ILogger logger, string error);
    }
}
