using Microsoft.Extensions.Hosting;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Mesh;

/// <summary>Runs the mesh feature once the cluster state is read (a site starts at once).</summary>
public sealed class MeshService(MeshFeature mesh, ClusterSync? cluster = null) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        mesh.RunAsync(cluster?.Synced ?? Task.CompletedTask, stoppingToken);
}
