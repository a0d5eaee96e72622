using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Mesh.Tunnel;

public sealed partial class WireGuardTunnel
{
    private static partial class Log
    {
        [LoggerMessage(501, LogLevel.Information, "WireGuard device {Interface} created ({Implementation}), listening on UDP {Port}")]
        public static partial void Created(ILogger logger, string @interface, string implementation, int port);

        [LoggerMessage(502, LogLevel.Information, "WireGuard device {Interface} adopted as it runs")]
        public static partial void Adopted(ILogger logger, string @interface);

        [LoggerMessage(503, LogLevel.Warning, "WireGuard device {Interface} had nobody serving it and was replaced")]
        public static partial void StaleDeviceRemoved(ILogger logger, string @interface);
    }
}
