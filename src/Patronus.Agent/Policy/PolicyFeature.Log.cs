using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Policy;

public sealed partial class PolicyFeature
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Policy starts from the synced cluster state: {Pods} pods, {Policies} network policies")]
        public static partial void Synced(ILogger logger, int pods, int policies);

        [LoggerMessage(2, LogLevel.Information, "Datapath reconciled with {Endpoints} local endpoints")]
        public static partial void Programmed(ILogger logger, int endpoints);

        [LoggerMessage(3, LogLevel.Debug, "Datapath updated: {Changed} endpoints changed, {Removed} removed")]
        public static partial void Updated(ILogger logger, int changed, int removed);

        [LoggerMessage(4, LogLevel.Error, "Datapath update failed; a full reconcile follows")]
        public static partial void DatapathFailed(ILogger logger, Exception exception);

        [LoggerMessage(5, LogLevel.Warning, "Object ignored: {Error}")]
        public static partial void MappingFailed(ILogger logger, string error);

        [LoggerMessage(6, LogLevel.Warning, "Registered pod {Pod} is not in the cluster state; its policy is computed without labels until it is")]
        public static partial void RegisteredPodUnknown(ILogger logger, string pod);

        [LoggerMessage(7, LogLevel.Error, "{Kind} {Name} left out: applying its change failed: {Error}")]
        public static partial void ChangeFailed(ILogger logger, string kind, string name, string error);
    }
}
