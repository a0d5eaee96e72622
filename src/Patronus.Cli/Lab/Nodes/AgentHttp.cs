using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Patronus.Cli.Lab.Plan;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Nodes;

/// <summary>
/// Talks to a node agent's HTTP endpoints (/readyz, /metrics) on the node's uplink address, from this process:
/// each connection's socket is made inside the node's network namespace, which is where that address lives.
/// </summary>
internal sealed class AgentHttp : IDisposable
{
    private readonly NetNs _netns;
    private readonly HttpClient _client;
    private readonly IPEndPoint _endpoint;

    public AgentHttp(NodePlan node)
        : this(node.Netns, node.MetricsEndpoint)
    {
    }

    /// <param name="netns">The named network namespace the agent serves in.</param>
    /// <param name="endpoint">An address of that namespace where the agent serves HTTP.</param>
    public AgentHttp(string netns, IPEndPoint endpoint)
    {
        _endpoint = endpoint;
        _netns = NetNs.OpenNamed(netns);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellation) =>
            {
                var address = IPAddress.Parse(context.DnsEndPoint.Host);
                var socket = _netns.Run(() => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellation);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionLifetime = TimeSpan.FromSeconds(5),
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>Whether /readyz answers 200; false while the agent is starting or not listening yet.</summary>
    public async Task<bool> ReadyAsync(CancellationToken cancellation)
    {
        try
        {
            using var response = await _client.GetAsync($"http://{_endpoint}/readyz", cancellation);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellation.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>A gauge or counter without labels from /metrics, or null when it cannot be read.</summary>
    public async Task<double?> MetricAsync(string name, CancellationToken cancellation)
    {
        string text;
        try
        {
            text = await _client.GetStringAsync($"http://{_endpoint}/metrics", cancellation);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellation.IsCancellationRequested)
        {
            return null;
        }
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(name + " ", StringComparison.Ordinal)
                && double.TryParse(line.AsSpan(name.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                return value;
        return null;
    }

    public void Dispose()
    {
        _client.Dispose();
        _netns.Dispose();
    }
}
