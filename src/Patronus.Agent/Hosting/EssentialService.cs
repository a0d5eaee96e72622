using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Hosting;

/// <summary>
/// A part the agent cannot do without (the cluster sync, the policy feature): if its run fails, the failure is
/// counted and logged and the agent stops with exit code 1, so that the kubelet restarts it rather than leave a
/// node agent that looks alive and does nothing.
/// </summary>
public abstract partial class EssentialService(AgentMetrics metrics, IHostApplicationLifetime lifetime, ILogger logger, string component) : BackgroundService
{
    protected AgentMetrics Metrics => metrics;

    protected abstract Task RunAsync(CancellationToken stoppingToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            metrics.Errors.WithLabels(component).Inc();
            Log.Stopped(logger, component, e.Message, e);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Critical, "Agent stopped: {Component} failed: {Error}")]
        public static partial void Stopped(ILogger logger, string component, string error, Exception exception);
    }
}
