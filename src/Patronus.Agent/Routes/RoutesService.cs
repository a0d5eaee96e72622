using Microsoft.Extensions.Hosting;
using Patronus.Agent.Pipeline;
using Patronus.Kubernetes.Informers;

namespace Patronus.Agent.Routes;

/// <summary>Runs the routes feature once the cluster state is read; its conflist waits for the policy to be in the kernel.</summary>
public sealed class RoutesService(RoutesFeature routes, SourceSupervisor sources, PolicyPipeline policy) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        routes.RunAsync(sources.Synced, policy.Ready, stoppingToken);
}
