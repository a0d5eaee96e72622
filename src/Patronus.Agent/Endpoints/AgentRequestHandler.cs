using Microsoft.Extensions.Logging;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Hosting;
using Patronus.Agent.Telemetry;
using Patronus.Agent.Policy;
using Patronus.Agent.Status;
using Patronus.Agent.Sync;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Endpoints;

/// <summary>What the agent does for each request on its socket.</summary>
public sealed partial class AgentRequestHandler(
    EndpointRegistry registry,
    IPolicyEnforcement policy,
    ClusterSync cluster,
    StatusReporter status,
    AgentOptions options,
    AgentMetrics metrics,
    ILogger<AgentRequestHandler> logger,
    Patronus.Agent.Mesh.MeshFeature? mesh = null,
    Patronus.Agent.Services.ServicesFeature? services = null,
    Func<PathsStatus>? paths = null)
{
    /// <summary>How long a register may wait for its policy to reach the kernel before it is refused.</summary>
    public static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(25);

    public async Task<AgentReply> HandleAsync(AgentRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return request.Op switch
            {
                AgentOps.Register => await RegisterAsync(request.Endpoint!, cancellationToken).ConfigureAwait(false),
                AgentOps.Unregister => await UnregisterAsync(request.Removal!, cancellationToken).ConfigureAwait(false),
                AgentOps.MeshRotateKeys => await RotateMeshKeysAsync(cancellationToken).ConfigureAwait(false),
                AgentOps.MeshServices => services is null
                    ? AgentReply.Failure("mesh-services: multi-cluster services are not configured on this agent (no clusterset-ip-range, or no mesh)")
                    : new AgentReply { Ok = true, Services = services.Status },
                AgentOps.Paths => paths is null
                    ? AgentReply.Failure("paths: WAN paths are not available on this agent (no mesh, or this node is not a gateway)")
                    : new AgentReply { Ok = true, Paths = paths() },
                _ => AgentReply.Success(status.Report()),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.Errors.WithLabels("endpoints").Inc();
            Log.RequestFailed(logger, request.Op, e.Message);
            return AgentReply.Failure(e is TimeoutException
                ? $"{request.Op}: the policy was not programmed within {ProgramTimeout.TotalSeconds:0} s"
                : $"{request.Op}: {e.Message}");
        }
    }

    private async Task<AgentReply> RotateMeshKeysAsync(CancellationToken cancellationToken)
    {
        if (mesh is null)
            return AgentReply.Failure("mesh-rotate-keys: the mesh is not configured on this agent (no cluster-id or site-name)");
        if (mesh.Gateway is not { } gateway)
            return AgentReply.Failure($"mesh-rotate-keys: this node is not running a mesh gateway{(mesh.Problem is { } problem ? $" ({problem})" : "")}: ask the agent on a gateway node");
        await gateway.RotateKeysAsync().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        return AgentReply.Success(status.Report());
    }

    private async Task<AgentReply> RegisterAsync(EndpointRegistration endpoint, CancellationToken cancellationToken)
    {
        var pod = new EndpointId(endpoint.PodNamespace, endpoint.PodName);
        await WaitForPodAsync(pod, cancellationToken).ConfigureAwait(false);
        var (_, previous) = registry.Add(endpoint);
        Log.Registered(logger, endpoint.ContainerId, endpoint.IfName, pod.ToString(), string.Join(",", endpoint.Addresses));
        var affected = previous is null ? new[] { pod } : [pod, previous];
        await policy.EndpointsChangedAsync(affected).WaitAsync(ProgramTimeout, cancellationToken).ConfigureAwait(false);
        return AgentReply.Success();
    }

    private async Task<AgentReply> UnregisterAsync(EndpointRemoval removal, CancellationToken cancellationToken)
    {
        var pod = registry.Remove(removal.ContainerId, removal.IfName);
        if (pod is null)
            return AgentReply.Success();
        Log.Unregistered(logger, removal.ContainerId, removal.IfName, pod.ToString());
        await policy.EndpointsChangedAsync(pod).WaitAsync(ProgramTimeout, cancellationToken).ConfigureAwait(false);
        return AgentReply.Success();
    }

    /// <summary>
    /// The pod object normally reaches the agent before the runtime calls the plugin (the pod is scheduled
    /// first); an informer a little behind must not cost the pod its labels, so wait a moment for it.
    /// </summary>
    private async Task WaitForPodAsync(EndpointId pod, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.PodWait;
        while (cluster.Find<k8s.Models.V1Pod>(pod.Namespace, pod.Name) is null && DateTime.UtcNow < deadline)
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Endpoint registered: container {ContainerId} {IfName} pod {Pod} addresses {Addresses}")]
        public static partial void Registered(ILogger logger, string containerId, string ifName, string pod, string addresses);

        [LoggerMessage(2, LogLevel.Information, "Endpoint unregistered: container {ContainerId} {IfName} pod {Pod}")]
        public static partial void Unregistered(ILogger logger, string containerId, string ifName, string pod);

        [LoggerMessage(3, LogLevel.Warning, "Request {Op} failed: {Error}")]
        public static partial void RequestFailed(ILogger logger, string op, string error);
    }
}
