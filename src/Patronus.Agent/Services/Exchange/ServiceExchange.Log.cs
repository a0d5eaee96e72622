using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Services.Exchange;

public sealed partial class ServiceExchange
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Service message to {Target} not sent: {Error}")]
        public static partial void SendFailed(ILogger logger, string target, string error);

        [LoggerMessage(2, LogLevel.Warning, "Service message from {From} refused: {Problem} ({Suppressed} more refusals not logged)")]
        public static partial void Refused(ILogger logger, string from, string problem, long suppressed);
    }
}
