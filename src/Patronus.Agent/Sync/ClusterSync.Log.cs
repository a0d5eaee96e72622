using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Sync;

public sealed partial class ClusterSync
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Cluster state synced: {Counts}")]
        public static partial void Synced(ILogger logger, string counts);

        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "A subscriber failed on a {Kind} change; the others go on")]
        public static partial void SubscriberFailed(ILogger logger, string kind, Exception exception);
    }
}
