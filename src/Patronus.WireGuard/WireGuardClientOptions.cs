namespace Patronus.WireGuard;

/// <summary>Where <see cref="WireGuardClient"/> finds its devices.</summary>
public sealed class WireGuardClientOptions
{
    /// <summary>
    /// The folder of userspace implementations' UAPI sockets (&lt;name&gt;.sock). wireguard-go serves them in
    /// /var/run/wireguard, which is not per network namespace: device names must be unique on the host.
    /// </summary>
    public string SocketDirectory { get; set; } = "/var/run/wireguard";
}
