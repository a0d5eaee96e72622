using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.Hosting;
using Patronus.Agent.Pipeline;
using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Endpoints;

/// <summary>
/// Applies removals the plugin queued while the agent was running but did not answer in time (a slow
/// datapath, a restart in progress). Those queued while it was down are applied at start by <see cref="AgentStartup"/>.
/// A removal that cannot be applied now (the database busy, the spool unreadable) stays queued for the next
/// round: one error costs one round, never the drainer.
/// </summary>
public sealed partial class SpoolDrainer(
    AgentOptions options,
    EndpointRegistry registry,
    PolicyPipeline pipeline,
    AgentMetrics metrics,
    ILogger<SpoolDrainer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var spool = new PendingRemovalSpool(options.Spool);
        try
        {
            await pipeline.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(options.SpoolInterval);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await DrainAsync(spool, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException))
                {
                    metrics.Errors.WithLabels("spool").Inc();
                    Log.Failed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DrainAsync(PendingRemovalSpool spool, CancellationToken stoppingToken)
    {
        foreach (var pending in spool.ReadAll())
        {
            if (pending.Removal is { } removal && registry.Remove(removal.ContainerId, removal.IfName) is { } pod)
            {
                Log.Applied(logger, removal.ContainerId, removal.IfName, pod.ToString());
                try
                {
                    await pipeline.EndpointsChangedAsync(pod).WaitAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (InvalidOperationException e)
                {
                    // The endpoint is gone from the registry; the pipeline's full reconcile after a datapath failure removes its rules.
                    Log.Failed(logger, e.Message);
                }
            }
            PendingRemovalSpool.Complete(pending);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applied queued removal of container {ContainerId} {IfName} (pod {Pod})")]
        public static partial void Applied(ILogger logger, string containerId, string ifName, string pod);

        [LoggerMessage(2, LogLevel.Error, "Draining queued removals failed; retrying next round: {Error}")]
        public static partial void Failed(ILogger logger, string error);
    }
}
