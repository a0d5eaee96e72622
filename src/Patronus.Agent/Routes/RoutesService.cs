using Microsoft.Extensions.Hosting;
using Patronus.Agent.Policy;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Routes;

/// <summary>Runs the routes feature once the cluster state is read; its conflist waits for the policy to be in the kernel.</summary>
public sealed class RoutesService(RoutesFeature routes, ClusterSync cluster, IPolicyEnforcement policy) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        routes.RunAsync(cluster.Synced, policy.Ready, stoppingToken);
}
