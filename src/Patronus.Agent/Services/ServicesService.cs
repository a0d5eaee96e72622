using Microsoft.Extensions.Hosting;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Services;

/// <summary>Runs the services feature once the cluster state is synced.</summary>
public sealed class ServicesService(ServicesFeature feature, ClusterSync cluster) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => feature.RunAsync(cluster.Synced, stoppingToken);

    public override void Dispose()
    {
        feature.Dispose();
        base.Dispose();
    }
}
