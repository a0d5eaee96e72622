using System.Net;
using Microsoft.Extensions.Logging;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Nftables;

public sealed partial class NftablesDatapath
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Address {Address} of {Endpoint} is already held by {Owner}; its policy is not applied to that address")]
        public static partial void AddressConflict(ILogger logger, IPAddress address, EndpointId endpoint, EndpointId owner);

        [LoggerMessage(2, LogLevel.Warning, "{Sysctl} is missing: br_netfilter is not available, so bridged pod-to-pod traffic is not filtered")]
        public static partial void BridgeNetfilterMissing(ILogger logger, string sysctl);

        [LoggerMessage(3, LogLevel.Information, "Turned {Sysctl} on so bridged pod traffic passes the nftables forward hook")]
        public static partial void BridgeNetfilterEnabled(ILogger logger, string sysctl);

        [LoggerMessage(4, LogLevel.Information, "Reconciled nftables table with {Endpoints} endpoints in {ElapsedMs} ms")]
        public static partial void Reconciled(ILogger logger, int endpoints, double elapsedMs);

        [LoggerMessage(5, LogLevel.Debug, "Updated {Changed} and removed {Removed} endpoints in {ElapsedMs} ms")]
        public static partial void Updated(ILogger logger, int changed, int removed, double elapsedMs);
    }
}
