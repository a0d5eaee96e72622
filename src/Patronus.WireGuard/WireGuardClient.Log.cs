using Microsoft.Extensions.Logging;

namespace Patronus.WireGuard;

// Log messages name devices and counts, never keys: a Key prints redacted, but none is passed here at all.
public sealed partial class WireGuardClient
{
    [LoggerMessage(1, LogLevel.Information, "Kernel WireGuard not available (no generic netlink family \"wireguard\"); only userspace devices with a socket in {SocketDirectory} can be used")]
    private static partial void LogKernelUnavailable(ILogger logger, string socketDirectory);

    [LoggerMessage(2, LogLevel.Debug, "Configured WireGuard device {Device} ({Type}): {PeerCount} peers, replace peers {ReplacePeers}")]
    private static partial void LogConfigured(ILogger logger, string device, DeviceType type, int peerCount, bool replacePeers);

    [LoggerMessage(3, LogLevel.Warning, "WireGuard device {Device}: nothing answers on {SocketPath}; its daemon is gone, leaving it out")]
    private static partial void LogStaleSocket(ILogger logger, string device, string socketPath);
}
