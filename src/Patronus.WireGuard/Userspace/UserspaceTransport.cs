using System.Net.Sockets;
using System.Text;

namespace Patronus.WireGuard.Userspace;

/// <summary>
/// Devices run by a userspace implementation (wireguard-go): one UNIX stream socket per device,
/// &lt;directory&gt;/&lt;name&gt;.sock, one request per connection.
/// </summary>
internal sealed class UserspaceTransport(string socketDirectory)
{
    // A whole answer arrives in milliseconds; a daemon that hangs must not hang the agent.
    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(5);

    public string SocketDirectory { get; } = socketDirectory;

    public string SocketPath(string name) => Path.Combine(SocketDirectory, name + ".sock");

    public bool Owns(string name) => File.Exists(SocketPath(name));

    /// <summary>Names of the devices with a socket; stale sockets (their daemon gone) are left out by the caller.</summary>
    public IEnumerable<string> Names()
        => Directory.Exists(SocketDirectory)
            ? Directory.EnumerateFiles(SocketDirectory, "*.sock").Select(p => Path.GetFileNameWithoutExtension(p)!).Order(StringComparer.Ordinal)
            : [];

    public Device Device(string name) => UapiProtocol.ParseGet(name, Exchange(name, UapiProtocol.GetRequest));

    public void Configure(string name, DeviceConfig config)
        => UapiProtocol.CheckSetResponse(name, Exchange(name, UapiProtocol.SetRequest(config)));

    private string Exchange(string name, string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.SendTimeout = socket.ReceiveTimeout = (int)ExchangeTimeout.TotalMilliseconds;
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath(name)));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            throw new WireGuardException(name, $"nothing serves {SocketPath(name)} (the userspace daemon is gone)", e.ErrorCode, e) { IsNotFound = true };
        }
        catch (SocketException e)
        {
            throw new WireGuardException(name, $"connect to {SocketPath(name)}: {e.Message}", e.ErrorCode, e);
        }

        try
        {
            socket.Send(Encoding.ASCII.GetBytes(request));
            var response = new StringBuilder();
            var buffer = new byte[4096];
            while (!UapiProtocol.IsComplete(response.ToString()))
            {
                var read = socket.Receive(buffer);
                if (read == 0)
                {
                    break;
                }

                response.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            return response.ToString();
        }
        catch (SocketException e)
        {
            throw new WireGuardException(name, $"talk to {SocketPath(name)}: {e.Message}", e.ErrorCode, e);
        }
    }
}
