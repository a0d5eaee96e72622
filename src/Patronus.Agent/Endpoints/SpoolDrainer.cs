using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.Hosting;
using Patronus.Agent.Policy;
using Patronus.Agent.Telemetry;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Endpoints;

/// <summary>
/// Applies registrations and removals the plugin queued while the agent was running but did not answer in
/// time (a slow datapath, a restart in progress). Those queued while it was down are applied at start by
/// <see cref="AgentStartup"/>.
/// A removal that cannot be applied now (the database busy, the spool unreadable) stays queued for the next
/// round: one error costs one round, never the drainer.
/// </summary>
public sealed partial class SpoolDrainer(
    AgentOptions options,
    EndpointRegistry registry,
    IPolicyEnforcement policy,
    AgentMetrics metrics,
    ILogger<SpoolDrainer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var spool = new PendingRemovalSpool(options.Spool);
        try
        {
            await policy.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
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
        var pods = ApplyQueued(spool, registry, logger, metrics);
        if (pods.Count == 0)
            return;
        try
        {
            await policy.EndpointsChangedAsync([.. pods]).WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            // The registry holds the change; the policy feature's full reconcile after a datapath failure programs it.
            Log.Failed(logger, e.Message);
        }
    }

    /// <summary>
    /// Applies the queued registrations and removals in the order they were queued, and returns the pods they
    /// touched. An entry is forgotten only once applied (or found unreadable or invalid, which is logged): an
    /// error leaves it, and the ones after it, for the next round.
    /// </summary>
    internal static IReadOnlySet<EndpointId> ApplyQueued(PendingRemovalSpool spool, EndpointRegistry registry, ILogger logger, AgentMetrics metrics)
    {
        var pods = new HashSet<EndpointId>();
        var queued = spool.ReadRegistrations().Select(r => (r.Written, Apply: (Action)(() =>
            {
                if (r.Registration is not { } registration)
                {
                    Log.Unreadable(logger, r.Path);
                }
                else if (EndpointValidation.Problem(registration) is { } problem)
                {
                    metrics.Errors.WithLabels("spool").Inc();
                    Log.Invalid(logger, r.Path, problem);
                }
                else
                {
                    var (pod, previous) = registry.Add(registration);
                    pods.Add(pod);
                    if (previous is { } moved)
                        pods.Add(moved);
                    Log.AppliedRegistration(logger, registration.ContainerId, registration.IfName, pod.ToString());
                }
                PendingRemovalSpool.Complete(r);
            })))
            .Concat(spool.ReadAll().Select(r => (r.Written, Apply: (Action)(() =>
            {
                if (r.Removal is not { } removal)
                    Log.Unreadable(logger, r.Path);
                else if (registry.Remove(removal.ContainerId, removal.IfName) is { } pod)
                {
                    pods.Add(pod);
                    Log.Applied(logger, removal.ContainerId, removal.IfName, pod.ToString());
                }
                PendingRemovalSpool.Complete(r);
            }))))
            .OrderBy(q => q.Written);
        foreach (var (_, apply) in queued)
            apply();
        return pods;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applied queued removal of container {ContainerId} {IfName} (pod {Pod})")]
        public static partial void Applied(ILogger logger, string containerId, string ifName, string pod);

        [LoggerMessage(2, LogLevel.Error, "Applying queued registrations and removals failed; retrying next round: {Error}")]
        public static partial void Failed(ILogger logger, string error);

        [LoggerMessage(3, LogLevel.Information, "Applied queued registration of container {ContainerId} {IfName} (pod {Pod})")]
        public static partial void AppliedRegistration(ILogger logger, string containerId, string ifName, string pod);

        [LoggerMessage(4, LogLevel.Warning, "Discarded unreadable queued entry {Path}")]
        public static partial void Unreadable(ILogger logger, string path);

        [LoggerMessage(5, LogLevel.Error, "Discarded invalid queued registration {Path}: {Problem}")]
        public static partial void Invalid(ILogger logger, string path, string problem);
    }
}
