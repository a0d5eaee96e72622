using System.Net;
using Microsoft.Extensions.Logging;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Ebpf;

public sealed partial class EbpfDatapath
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Loaded the eBPF datapath; maps and programs pinned in {PinDirectory} ({Adopted} endpoints found from an earlier agent)")]
        public static partial void Loaded(ILogger logger, string pinDirectory, int adopted);

        [LoggerMessage(2, LogLevel.Warning, "Address {Address} of {Endpoint} is already held by {Owner}; its policy is not applied to that address")]
        public static partial void AddressConflict(ILogger logger, IPAddress address, EndpointId endpoint, EndpointId owner);

        [LoggerMessage(3, LogLevel.Information, "Reconciled eBPF maps with {Endpoints} endpoints ({Entries} rule entries, {Swept} stale entries removed) in {ElapsedMs} ms")]
        public static partial void Reconciled(ILogger logger, int endpoints, int entries, int swept, double elapsedMs);

        [LoggerMessage(4, LogLevel.Debug, "Updated {Changed} and removed {Removed} endpoints in {ElapsedMs} ms")]
        public static partial void Updated(ILogger logger, int changed, int removed, double elapsedMs);

        [LoggerMessage(5, LogLevel.Debug, "Attached the policy programs to {Device}")]
        public static partial void Attached(ILogger logger, string device);

        [LoggerMessage(6, LogLevel.Warning, "Bridge {Bridge} does not exist yet; programs are attached to its ports once it does")]
        public static partial void BridgeMissing(ILogger logger, string bridge);
    }
}
