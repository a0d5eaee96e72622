using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Routes;

public sealed partial class RoutesFeature
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Routes programmed: {Changes} changes for {Nodes} nodes")]
        public static partial void Programmed(ILogger logger, int changes, int nodes);

        [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Node not routed: {Problem}")]
        public static partial void NodeProblem(ILogger logger, string problem);

        [LoggerMessage(EventId = 303, Level = LogLevel.Error, Message = "Routes not ready: {Reason}")]
        public static partial void NotReady(ILogger logger, string reason);

        [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Programming routes failed, retrying: {Error}")]
        public static partial void ProgrammingFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "CNI configuration written to {Path} with pod ranges {Ranges}")]
        public static partial void ConflistWritten(ILogger logger, string path, string ranges);
    }
}
