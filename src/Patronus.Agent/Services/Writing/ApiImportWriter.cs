using System.Net;
using k8s;
using k8s.Autorest;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Patronus.Agent.Services.Import;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Writing;

/// <summary>
/// Writes imports through the API server: ServiceImports (multicluster.x-k8s.io) and EndpointSlices (discovery.k8s.io),
/// created, or replaced when their content differs from what the server holds.
/// </summary>
public sealed class ApiImportWriter(IKubernetes client) : IImportWriter
{
    private const string Group = "multicluster.x-k8s.io";
    private const string Version = "v1alpha1";
    private const string Plural = "serviceimports";

    public async Task<bool> PutAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken cancellationToken)
    {
        var ns = obj.Metadata.NamespaceProperty;
        var name = obj.Metadata.Name;
        try
        {
            if (obj is V1EndpointSlice slice)
            {
                var current = await client.DiscoveryV1.ReadNamespacedEndpointSliceAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (Same(current, slice, s => { s.Metadata = Bare(s.Metadata); }))
                    return false;
                slice.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
                await client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(slice, name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }
            var existing = await client.CustomObjects.GetNamespacedCustomObjectAsync<V1Alpha1ServiceImport>(Group, Version, ns, Plural, name, cancellationToken).ConfigureAwait(false);
            if (Same(existing, (V1Alpha1ServiceImport)obj, i => { i.Metadata = Bare(i.Metadata); }))
                return false;
            obj.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(obj, Group, Version, ns, Plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            if (obj is V1EndpointSlice slice)
                await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            else
                await client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, Group, Version, ns, Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    public async Task RemoveAsync(ObjectRef obj, CancellationToken cancellationToken)
    {
        try
        {
            if (obj.Kind == "EndpointSlice")
                await client.DiscoveryV1.DeleteNamespacedEndpointSliceAsync(obj.Name, obj.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            else
                await client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, obj.Namespace, Plural, obj.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>Whether the server's object says what we would write: compared as JSON, without the server's metadata.</summary>
    private static bool Same<T>(T current, T wanted, Action<T> strip)
    {
        var a = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(current));
        var b = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(wanted));
        strip(a);
        strip(b);
        return KubernetesJson.Serialize(a) == KubernetesJson.Serialize(b);
    }

    private static V1ObjectMeta Bare(V1ObjectMeta meta) => new() { Name = meta.Name, NamespaceProperty = meta.NamespaceProperty, Labels = meta.Labels };
}

/// <summary>
/// One writer per cluster through a coordination.k8s.io Lease (KubernetesClient's leader election): only gateways stand,
/// since only they hear the other clusters. Losing the Lease (or the API server) stops writing at the next pass.
/// </summary>
public sealed class LeaseLeadership(IKubernetes client, string ns, string name, string identity) : IWriterLeadership
{
    private LeaderElector? _elector;
    private CancellationTokenSource? _stop;

    public bool TryLead()
    {
        if (_elector is null)
        {
            _elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(client, ns, name, identity))
            {
                LeaseDuration = TimeSpan.FromSeconds(15),
                RenewDeadline = TimeSpan.FromSeconds(10),
                RetryPeriod = TimeSpan.FromSeconds(2),
            });
            _stop = new CancellationTokenSource();
            var elector = _elector;
            var stop = _stop.Token;
            _ = Task.Run(() => elector.RunAndTryToHoldLeadershipForeverAsync(stop), CancellationToken.None);
        }
        return _elector.IsLeader();
    }

    public void Resign()
    {
        _stop?.Cancel();
        _stop?.Dispose();
        _elector?.Dispose();
        _stop = null;
        _elector = null;
    }

    public void Dispose() => Resign();
}
