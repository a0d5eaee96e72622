using Microsoft.Extensions.Hosting;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Paths;

/// <summary>Runs the paths feature once the cluster state is synced.</summary>
public sealed class PathsService(PathsFeature feature, ClusterSync cluster) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => feature.RunAsync(cluster.Synced, stoppingToken);

    public override void Dispose()
    {
        feature.Dispose();
        base.Dispose();
    }
}
