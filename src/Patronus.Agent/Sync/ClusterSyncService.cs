using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Hosting;
using Patronus.Agent.Telemetry;
using Patronus.Kubernetes.Informers.ManifestFolder;

namespace Patronus.Agent.Sync;

/// <summary>Runs the cluster sync for the agent's lifetime, counting each source failure and each refused manifest file.</summary>
public sealed class ClusterSyncService(ClusterSync sync, AgentMetrics metrics, IHostApplicationLifetime lifetime, ILogger<ClusterSyncService> logger)
    : EssentialService(metrics, lifetime, logger, "source")
{
    protected override Task RunAsync(CancellationToken stoppingToken)
    {
        sync.SourceFailed += (_, _) => Metrics.Errors.WithLabels("source").Inc();
        foreach (var folder in sync.Sources.OfType<ManifestFolderSource>())
            folder.FileRefused += (_, _) => Metrics.Errors.WithLabels("manifests").Inc();
        return sync.RunAsync(stoppingToken);
    }
}
