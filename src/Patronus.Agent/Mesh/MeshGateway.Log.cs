using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Mesh;

public sealed partial class MeshGateway
{
    private static partial class Log
    {
        [LoggerMessage(521, LogLevel.Information, "Mesh: {Changes} peer and route changes on {Interface} for {Members} members")]
        public static partial void Reconciled(ILogger logger, int changes, int members, string @interface);

        [LoggerMessage(522, LogLevel.Error, "Mesh: matching the WireGuard device to the members failed; retrying: {Error}")]
        public static partial void ReconcileFailed(ILogger logger, string error);

        [LoggerMessage(523, LogLevel.Information, "Mesh: WireGuard key of {Interface} replaced ({Trigger}) and announced")]
        public static partial void KeyRotated(ILogger logger, string @interface, string trigger);

        [LoggerMessage(524, LogLevel.Warning, "Mesh: conntrack's TCP window tracking could not be made liberal ({Error}): a TCP connection moved between gateways (a failover) may stall")]
        public static partial void LiberalTrackingFailed(ILogger logger, string error);

        [LoggerMessage(525, LogLevel.Information, "Mesh: the device routes to members; answering liveness probes on port {Port}")]
        public static partial void Answering(ILogger logger, int port);

        [LoggerMessage(526, LogLevel.Information, "Mesh: no handshake with {Peers} peer(s) on {Interface} {ElapsedMs:0} ms after the key rotation: their handshakes start again")]
        public static partial void HandshakesRestarted(ILogger logger, int peers, string @interface, double elapsedMs);
    }
}
