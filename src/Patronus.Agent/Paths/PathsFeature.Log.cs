using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Paths;

public sealed partial class PathsFeature
{
    private static partial class Log
    {
        [LoggerMessage(1021, LogLevel.Information, "Paths: probing and steering over {Paths}")]
        public static partial void Attached(ILogger logger, string paths);

        [LoggerMessage(1022, LogLevel.Warning, "Paths: {QosClass} traffic to {Member} failed over from {From} to {To}: {Reason}")]
        public static partial void FailedOver(ILogger logger, string qosClass, string member, string from, string to, string reason);

        [LoggerMessage(1023, LogLevel.Information, "Paths: traffic to {Member} steered: default path {Path}, {Pods} pods on another")]
        public static partial void Steered(ILogger logger, string member, string path, int pods);

        [LoggerMessage(1025, LogLevel.Warning, "Paths: {Pods} pods ask for a minimum bandwidth on path {Path}, whose capacity is not configured (path-capacities): not shaped")]
        public static partial void Unshapeable(ILogger logger, string path, int pods);

        [LoggerMessage(1026, LogLevel.Information, "Paths: this gateway is a standby (its cluster's traffic goes through another): nothing steered onto its paths")]
        public static partial void Standby(ILogger logger);

        [LoggerMessage(1027, LogLevel.Warning, "Paths: every path to {Member} is down")]
        public static partial void MemberUnreachable(ILogger logger, string member);

        [LoggerMessage(1028, LogLevel.Information, "Paths: {Member} answers again")]
        public static partial void MemberReachable(ILogger logger, string member);

        [LoggerMessage(1024, LogLevel.Error, "Paths: {Error}")]
        public static partial void ReconcileFailed(ILogger logger, string error);
    }
}
