using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.Hosting;
using Patronus.Agent.Pipeline;

namespace Patronus.Agent.Endpoints;

/// <summary>
/// Applies removals the plugin queued while the agent was running but did not answer in time (a slow
/// datapath, a restart in progress). Those queued while it was down are applied at start by <see cref="AgentStartup"/>.
/// </summary>
public sealed partial class SpoolDrainer(AgentOptions options, EndpointRegistry registry, PolicyPipeline pipeline, ILogger<SpoolDrainer> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var spool = new PendingRemovalSpool(options.Spool);
        try
        {
            await pipeline.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(Interval);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
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
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Log.Failed(logger, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applied queued removal of container {ContainerId} {IfName} (pod {Pod})")]
        public static partial void Applied(ILogger logger, string containerId, string ifName, string pod);

        [LoggerMessage(2, LogLevel.Error, "Draining queued removals failed: {Error}")]
        public static partial void Failed(ILogger logger, string error);
    }
}
