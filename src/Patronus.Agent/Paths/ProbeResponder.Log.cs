using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Paths;

public sealed partial class ProbeResponder
{
    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Debug, "Probe datagram from {From} refused ({Reason}) ({Suppressed} more refusals not logged)")]
        public static partial void Refused(ILogger logger, string reason, string from, long suppressed);

        [LoggerMessage(1002, LogLevel.Debug, "Probe reply to {To} not sent: {Error}")]
        public static partial void ReplyFailed(ILogger logger, string to, string error);
    }
}
