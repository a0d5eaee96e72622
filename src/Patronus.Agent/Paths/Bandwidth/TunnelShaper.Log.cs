using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Paths.Bandwidth;

public sealed partial class TunnelShaper
{
    private static partial class Log
    {
        [LoggerMessage(1031, LogLevel.Warning, "Bandwidth guarantees on {Device} do not fit: {Warning}")]
        public static partial void GuaranteesScaled(ILogger logger, string device, string warning);

        [LoggerMessage(1032, LogLevel.Information, "Shaped {Device} ({CapacityMbps} Mbit/s, {Pods} guaranteed pods): {Changes} changes")]
        public static partial void Applied(ILogger logger, string device, double capacityMbps, int pods, int changes);
    }
}
