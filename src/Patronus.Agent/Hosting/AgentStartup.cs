using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.Endpoints;
using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Hosting;

/// <summary>
/// Runs first: restores the endpoints from the database and applies the registrations and removals the
/// plugin queued while the agent was away, so the first datapath reconcile already reflects them.
/// </summary>
public sealed partial class AgentStartup(AgentOptions options, EndpointRegistry registry, AgentMetrics metrics, ILogger<AgentStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (endpoint, problem) in registry.Load())
        {
            metrics.Errors.WithLabels("endpoints").Inc();
            Log.StoredEndpointSkipped(logger, endpoint.ContainerId, endpoint.IfName, problem);
        }
        Log.Restored(logger, registry.All.Count, options.Database);
        // Queued while the agent was away: the first datapath reconcile already reflects them.
        SpoolDrainer.ApplyQueued(new PendingRemovalSpool(options.Spool), registry, logger, metrics);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Restored {Count} endpoints from {Database}")]
        public static partial void Restored(ILogger logger, int count, string database);

        [LoggerMessage(4, LogLevel.Error, "Stored endpoint of container {ContainerId} {IfName} is invalid and left out (an older agent accepted it): {Problem}")]
        public static partial void StoredEndpointSkipped(ILogger logger, string containerId, string ifName, string problem);
    }
}
