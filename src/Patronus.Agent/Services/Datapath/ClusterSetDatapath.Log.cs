using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Services.Datapath;

public sealed partial class ClusterSetDatapath
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ClusterSetIP table programmed: {Vips} VIP ports, {Backends} backends")]
        public static partial void Programmed(ILogger logger, int vips, int backends);
    }
}
