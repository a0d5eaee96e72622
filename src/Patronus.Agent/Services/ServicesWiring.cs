using Microsoft.Extensions.Logging;
using Patronus.Agent.Hosting;
using Patronus.Agent.Mesh;
using Patronus.Agent.Paths;
using Patronus.Agent.Services.Writing;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Services;

/// <summary>The services feature with the writer of its cluster source: the manifests folder (embedded mode) or the API server.</summary>
internal static class ServicesWiring
{
    public static ServicesFeature Create(AgentOptions options, ClusterSync cluster, MeshFeature mesh, PathsFeature paths, ILoggerFactory loggers)
    {
        if (options.Manifests is { } folder)
            return new ServicesFeature(options, cluster, mesh, new ManifestFolderImportWriter(folder), new FileLockLeadership(folder), loggers, paths: paths);
        var client = new k8s.Kubernetes(ClusterSources.KubernetesConfiguration(options));
        var identity = $"{options.NodeName}";
        return new ServicesFeature(options, cluster, mesh, new ApiImportWriter(client),
            new LeaseLeadership(client, options.Services.LeaseNamespace, options.Services.LeaseName, identity), loggers, paths: paths);
    }
}
