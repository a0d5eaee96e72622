using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Mesh;

public sealed partial class MeshFeature
{
    private static partial class Log
    {
        [LoggerMessage(531, LogLevel.Information, "Mesh gateway of {Member} runs on {Interface}: endpoints {Endpoints}, prefixes {Prefixes}")]
        public static partial void GatewayStarted(ILogger logger, string member, string @interface, string endpoints, string prefixes);

        [LoggerMessage(532, LogLevel.Information, "This node is no longer a mesh gateway: {Interface} removed")]
        public static partial void GatewayStopped(ILogger logger, string @interface);

        [LoggerMessage(533, LogLevel.Error, "Mesh gateway cannot run, retrying: {Error}")]
        public static partial void GatewayFailed(ILogger logger, string error);

        [LoggerMessage(534, LogLevel.Information, "Mesh gateway stopped with the agent: {Interface} and its tunnels stay up for the next agent to adopt")]
        public static partial void GatewayLeftRunning(ILogger logger, string @interface);
    }
}
