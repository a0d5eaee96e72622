using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Services.Dns;

public sealed partial class ClusterSetDnsServer
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Refused {Name} {Type}: not in clusterset.local")]
        public static partial void Refused(ILogger logger, string name, string type);

        [LoggerMessage(2, LogLevel.Warning, "DNS server failed on a query ({Type}: {Error})")]
        public static partial void Failed(ILogger logger, string type, string error);
    }
}
