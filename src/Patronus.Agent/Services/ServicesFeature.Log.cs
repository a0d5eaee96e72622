using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Services;

public sealed partial class ServicesFeature
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Multi-cluster services not reconciled: {Error}")]
        public static partial void ReconcileFailed(ILogger logger, string error);

        [LoggerMessage(2, LogLevel.Information, "Service exchange of {Cluster} runs on UDP port {Port}, {Peers} remote clusters")]
        public static partial void ExchangeStarted(ILogger logger, string cluster, int port, int peers);

        [LoggerMessage(3, LogLevel.Error, "Service exchange stopped: {Error}")]
        public static partial void ExchangeFailed(ILogger logger, string error);

        [LoggerMessage(4, LogLevel.Information, "Imports written: {Written} objects written, {Removed} removed, {Imports} ServiceImports")]
        public static partial void ImportsWritten(ILogger logger, int written, int removed, int imports);

        [LoggerMessage(5, LogLevel.Information, "Answering clusterset.local on {Address}")]
        public static partial void DnsServing(ILogger logger, string address);

        [LoggerMessage(6, LogLevel.Information, "ServiceExport conditions written: {Count} exports")]
        public static partial void ExportStatusWritten(ILogger logger, int count);
    }
}
