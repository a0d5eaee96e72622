using System.Diagnostics;
using System.Net.Sockets;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Client.Spool;

namespace Patronus.Agent.Client;

/// <summary>
/// Talks to the node agent over its unix socket. Synchronous on purpose: the plugin is a short-lived
/// NativeAOT process that makes one call, and a blocking socket with timeouts is the whole need.
/// </summary>
public sealed class AgentClient
{
    public const string DefaultSocketPath = "/var/run/patronus/agent.sock";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly PendingRemovalSpool _spool;

    public AgentClient(string socketPath = DefaultSocketPath, string spoolDirectory = PendingRemovalSpool.DefaultDirectory)
    {
        SocketPath = socketPath;
        _spool = new PendingRemovalSpool(spoolDirectory);
    }

    public string SocketPath { get; }

    /// <summary>
    /// Registers a pod's endpoint; returns once the agent has programmed the pod's policy into the kernel.
    /// Throws <see cref="AgentUnavailableException"/> when the agent cannot be reached in time and
    /// <see cref="AgentRejectedException"/> when it refuses (bad input, datapath failure).
    /// </summary>
    public void Register(EndpointRegistration endpoint, TimeSpan timeout) =>
        Exchange(AgentRequest.Register(endpoint), timeout);

    /// <summary>
    /// Registers an endpoint when the caller does not wait for its policy (no enforcement): when the agent
    /// cannot be reached the registration is written to the spool, which the agent applies when it returns, so
    /// the pod still gets its policy. Returns true when the agent took it now, false when it was queued.
    /// Throws <see cref="AgentRejectedException"/> when the agent refuses it.
    /// </summary>
    public bool RegisterOrQueue(EndpointRegistration endpoint, TimeSpan timeout)
    {
        try
        {
            Exchange(AgentRequest.Register(endpoint), timeout);
            return true;
        }
        catch (AgentUnavailableException)
        {
            _spool.Enqueue(endpoint);
            return false;
        }
    }

    /// <summary>
    /// Removes an endpoint. When the agent cannot be reached the removal is written to the spool, which the
    /// agent drains when it starts, so CNI DEL never fails because the agent is down.
    /// Returns true when the agent applied it now, false when it was queued.
    /// </summary>
    public bool UnregisterOrQueue(string containerId, string ifName, TimeSpan? timeout = null)
    {
        var removal = new EndpointRemoval(containerId, ifName);
        try
        {
            Exchange(AgentRequest.Unregister(removal), timeout ?? DefaultTimeout);
            return true;
        }
        catch (AgentUnavailableException)
        {
            _spool.Enqueue(removal);
            return false;
        }
    }

    /// <summary>What the live agent reports for `patronus status`.</summary>
    public AgentStatus GetStatus(TimeSpan? timeout = null)
    {
        var reply = Exchange(AgentRequest.QueryStatus(), timeout ?? DefaultTimeout);
        return reply.Status ?? throw new AgentProtocolException("status reply carries no 'status'");
    }

    /// <summary>Has the node's gateway replace its WireGuard key now; returns once the new key is in force and announced.</summary>
    public void RotateMeshKeys(TimeSpan? timeout = null)
    {
        Exchange(AgentRequest.RotateMeshKeys(), timeout ?? TimeSpan.FromSeconds(15));
    }

    /// <summary>Multi-cluster services as the node's agent sees them (`patronus mesh services`).</summary>
    public ServicesStatus GetServices(TimeSpan? timeout = null)
    {
        var reply = Exchange(AgentRequest.QueryServices(), timeout ?? DefaultTimeout);
        return reply.Services ?? throw new AgentProtocolException("mesh-services reply carries no 'services'");
    }

    /// <summary>The WAN paths as the node's agent probes and chooses them (`patronus paths`).</summary>
    public PathsStatus GetPaths(TimeSpan? timeout = null)
    {
        var reply = Exchange(AgentRequest.QueryPaths(), timeout ?? DefaultTimeout);
        return reply.Paths ?? throw new AgentProtocolException("paths reply carries no 'paths'");
    }

    private AgentReply Exchange(AgentRequest request, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        }
        catch (SocketException e)
        {
            throw new AgentUnavailableException($"patronus-agent is not reachable at {SocketPath}: {Describe(e)}", e);
        }

        // Once connected, a failure leaves it open whether the agent read (and acted on) the request: requestSent.
        try
        {
            socket.SendTimeout = RemainingMilliseconds(timeout, deadline);
            socket.Send(AgentProtocol.EncodeRequest(request));
            var line = ReadLine(socket, timeout, deadline);
            var reply = AgentProtocol.DecodeReply(line);
            if (!reply.Ok)
                throw new AgentRejectedException(reply.Error ?? "the agent refused the request without saying why");
            return reply;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new AgentUnavailableException($"patronus-agent at {SocketPath} did not answer '{request.Op}' within {timeout.TotalSeconds:0.#} s", e, requestSent: true);
        }
        catch (SocketException e)
        {
            throw new AgentUnavailableException($"patronus-agent at {SocketPath} dropped the connection during '{request.Op}': {Describe(e)}", e, requestSent: true);
        }
    }

    private byte[] ReadLine(Socket socket, TimeSpan timeout, Stopwatch deadline)
    {
        var buffer = new byte[4096];
        var length = 0;
        while (true)
        {
            var newline = Array.IndexOf(buffer, (byte)'\n', 0, length);
            if (newline >= 0)
                return buffer[..newline];
            if (length == buffer.Length)
            {
                if (buffer.Length >= AgentProtocol.MaxMessageBytes)
                    throw new AgentProtocolException($"reply is longer than {AgentProtocol.MaxMessageBytes} bytes");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            socket.ReceiveTimeout = RemainingMilliseconds(timeout, deadline);
            var read = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (read == 0)
                throw new AgentUnavailableException($"patronus-agent at {SocketPath} closed the connection before answering", requestSent: true);
            length += read;
        }
    }

    private static int RemainingMilliseconds(TimeSpan timeout, Stopwatch elapsed)
    {
        var remaining = timeout - elapsed.Elapsed;
        if (remaining <= TimeSpan.Zero)
            throw new SocketException((int)SocketError.TimedOut);
        // 0 means "no timeout" to the socket layer; never pass it by rounding down.
        return Math.Max(1, (int)Math.Ceiling(remaining.TotalMilliseconds));
    }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported => "the socket does not exist (is the agent running?)",
        SocketError.ConnectionRefused => "connection refused (is the agent running?)",
        SocketError.AccessDenied => "permission denied",
        _ => e.Message,
    };
}
