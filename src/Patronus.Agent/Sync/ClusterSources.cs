using k8s;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Hosting;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Informers.ManifestFolder;
using Patronus.Kubernetes.Kinds;

namespace Patronus.Agent.Sync;

/// <summary>Where the cluster state comes from: a folder of manifests (embedded mode), or the API server, one informer per registered kind.</summary>
public static class ClusterSources
{
    public static IReadOnlyList<IResourceSource> Create(AgentOptions options, ILoggerFactory loggers)
    {
        // A site has no Kubernetes: the cluster state stays empty and synced.
        if (options.IsSite)
            return [];
        if (options.Manifests is { } folder)
            return [new ManifestFolderSource(folder, loggers.CreateLogger<ManifestFolderSource>())];

        var client = new k8s.Kubernetes(KubernetesConfiguration(options));
        var connection = new ApiConnection(client);
        var informerOptions = new ResourceInformerOptions { ResyncPeriod = options.Resync };
        return ResourceKinds.All.Select(kind => kind.CreateInformer(connection, informerOptions, loggers)).ToList();
    }

    internal static KubernetesClientConfiguration KubernetesConfiguration(AgentOptions options)
    {
        if (options.Kubeconfig is { } path)
        {
            if (!File.Exists(path))
                throw new AgentOptionsException($"option 'kubeconfig': file '{path}' does not exist");
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }
        try
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException)
        {
            throw new AgentOptionsException("no cluster source: pass --kubeconfig PATH or --manifests DIR, or run in a pod with a service account");
        }
    }
}
