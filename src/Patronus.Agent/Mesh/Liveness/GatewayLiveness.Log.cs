using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Mesh.Liveness;

public sealed partial class GatewayLiveness
{
    private static partial class Log
    {
        [LoggerMessage(541, LogLevel.Information, "Gateway liveness ({Role}): probing {Gateway} at {Responder}")]
        public static partial void Tracking(ILogger logger, string role, string gateway, string responder);

        [LoggerMessage(542, LogLevel.Information, "Gateway {Gateway} ({Role}) answers its probes: live")]
        public static partial void GatewayUp(ILogger logger, string role, string gateway);

        [LoggerMessage(543, LogLevel.Warning, "Gateway {Gateway} ({Role}) stopped answering its probes ({SilentMs:0} ms silent): dead, traffic moves to the next live gateway")]
        public static partial void GatewayDown(ILogger logger, string role, string gateway, double silentMs);

        [LoggerMessage(544, LogLevel.Warning, "Failover ({Role}): {Owner} now goes through gateway {To} instead of {From}")]
        public static partial void FailedOver(ILogger logger, string role, string owner, string from, string to);
    }
}
