using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Telemetry;
using Patronus.Agent.Pipeline;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Informers.ManifestFolder;

namespace Patronus.Agent.Hosting;

/// <summary>
/// Runs the cluster sources (under a <see cref="SourceSupervisor"/>, which restarts any that stops) and the
/// policy pipeline; a failure of the pipeline itself ends the agent.
/// </summary>
public sealed partial class AgentService(
    SourceSupervisor sources,
    PolicyPipeline pipeline,
    AgentMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<AgentService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        sources.SourceFailed += (_, _) => metrics.Errors.WithLabels("source").Inc();
        foreach (var folder in sources.Sources.OfType<ManifestFolderSource>())
            folder.FileRefused += (_, _) => metrics.Errors.WithLabels("manifests").Inc();
        try
        {
            await pipeline.RunAsync(sources, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            metrics.Errors.WithLabels("source").Inc();
            Log.Stopped(logger, e.Message, e);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    internal static IReadOnlyList<IResourceSource> CreateSources(AgentOptions options, ILoggerFactory loggers)
    {
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Critical, "Agent stopped: {Error}")]
        public static partial void Stopped(ILogger logger, string error, Exception exception);
    }
}
