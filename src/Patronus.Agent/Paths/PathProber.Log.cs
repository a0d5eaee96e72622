using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Paths;

public sealed partial class PathProber
{
    private static partial class Log
    {
        [LoggerMessage(1011, LogLevel.Information, "Path {PathId}: {Before} -> {After} (latency {LatencyMs:0.0} ms, loss {LossPercent:0.#}%, score {Score:0})")]
        public static partial void StateChanged(ILogger logger, string pathId, string before, string after, double latencyMs, double lossPercent, double score);

        [LoggerMessage(1012, LogLevel.Debug, "Probe reply from {From} refused ({Reason}) ({Suppressed} more refusals not logged)")]
        public static partial void Refused(ILogger logger, string reason, string from, long suppressed);

        [LoggerMessage(1013, LogLevel.Debug, "Probe on path {PathId} to {FarEnd} not sent: {Error} ({Suppressed} more not logged)")]
        public static partial void SendFailed(ILogger logger, string pathId, string farEnd, string error, long suppressed);
    }
}
