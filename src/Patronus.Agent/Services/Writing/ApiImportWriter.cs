using System.Net;
using System.Text.Json.Nodes;
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
/// created, or replaced when their content differs from what the server holds; and ServiceExports' conditions. The
/// MCS CRDs have a status subresource, so the API server ignores the status of a create or replace: a ServiceImport's
/// <c>status.clusters</c> and a ServiceExport's conditions go through <c>/status</c> (a JSON merge patch).
/// </summary>
public sealed class ApiImportWriter(IKubernetes client) : IImportWriter
{
    private const string Group = "multicluster.x-k8s.io";
    private const string Version = "v1alpha1";
    private const string Plural = "serviceimports";
    private const string ExportsPlural = "serviceexports";

    public async Task<bool> PutAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken cancellationToken)
    {
        var ns = obj.Metadata.NamespaceProperty;
        var name = obj.Metadata.Name;
        if (obj is V1EndpointSlice slice)
        {
            V1EndpointSlice current;
            try
            {
                current = await client.DiscoveryV1.ReadNamespacedEndpointSliceAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }
            if (Same(current, slice, s => s.Metadata = Bare(s.Metadata)))
                return false;
            slice.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            await client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(slice, name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }

        var import = (V1Alpha1ServiceImport)obj;
        V1Alpha1ServiceImport existing;
        var written = false;
        try
        {
            existing = await client.CustomObjects.GetNamespacedCustomObjectAsync<V1Alpha1ServiceImport>(Group, Version, ns, Plural, name, cancellationToken).ConfigureAwait(false);
            if (!Same(existing, import, i => { i.Metadata = Bare(i.Metadata); i.Status = null; }))
            {
                import.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
                existing = await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<V1Alpha1ServiceImport>(import, Group, Version, ns, Plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
                written = true;
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            existing = await client.CustomObjects.CreateNamespacedCustomObjectAsync<V1Alpha1ServiceImport>(import, Group, Version, ns, Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            written = true;
        }
        if (!Same(existing.Status, import.Status, _ => { }))
        {
            var patch = new JsonObject { ["status"] = JsonNode.Parse(KubernetesJson.Serialize(import.Status)) };
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                Group, Version, ns, Plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            written = true;
        }
        return written;
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

    public async Task<bool> SetExportStatusAsync(V1Alpha1ServiceExport export, IList<V1Condition> conditions, CancellationToken cancellationToken)
    {
        // A merge patch replaces the list whole: the conditions given are all the export's conditions. No resourceVersion:
        // a change of the export meanwhile (its labels, say) must not fail the write; the next pass sees what it said.
        var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = JsonNode.Parse(KubernetesJson.Serialize(conditions)) } };
        try
        {
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                Group, Version, export.Metadata.NamespaceProperty ?? "default", ExportsPlural, export.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the server's object says what we would write: compared as JSON, without the server's metadata, and with
    /// empty lists and maps taken as absent (the API server returns an EndpointSlice's empty endpoints as null).
    /// </summary>
    private static bool Same<T>(T current, T wanted, Action<T> strip)
    {
        if (current is null || wanted is null)
            return Normal(Json(current)) is null && Normal(Json(wanted)) is null;
        var a = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(current));
        var b = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(wanted));
        strip(a);
        strip(b);
        return JsonNode.DeepEquals(Normal(Json(a)), Normal(Json(b)));
    }

    private static JsonNode? Json(object? value) => value is null ? null : JsonNode.Parse(KubernetesJson.Serialize(value));

    private static JsonNode? Normal(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (Normal(value) is { } kept)
                        result[key] = kept;
                }
                return result.Count == 0 ? null : result;
            case JsonArray array:
                var items = new JsonArray();
                foreach (var item in array)
                    items.Add(Normal(item) ?? new JsonObject());
                return items.Count == 0 ? null : items;
            default:
                return node?.DeepClone();
        }
    }

    private static V1ObjectMeta Bare(V1ObjectMeta meta) => new() { Name = meta.Name, NamespaceProperty = meta.NamespaceProperty, Labels = meta.Labels };
}

/// <summary>
/// One writer per cluster through a coordination.k8s.io Lease (KubernetesClient's leader election): only gateways stand,
/// since only they hear the other clusters. Losing the Lease (or the API server) stops writing at the next pass. A
/// holder that stops renewing (its agent died, or lost the API server) is replaced once the Lease has not moved for
/// <paramref name="leaseDuration"/> (15 s; renewed every 2 s, given up by a holder that could not renew for 10 s).
/// </summary>
public sealed class LeaseLeadership(IKubernetes client, string ns, string name, string identity, TimeSpan? leaseDuration = null) : IWriterLeadership
{
    private readonly TimeSpan _duration = leaseDuration ?? TimeSpan.FromSeconds(15);

    private LeaderElector? _elector;
    private CancellationTokenSource? _stop;
    private Term? _term;

    /// <summary>One run of the elector: whether it leads, from its own events (a resigned run's late events change nothing).</summary>
    private sealed class Term
    {
        public volatile bool Leading;
    }

    public bool TryLead()
    {
        if (_elector is null)
        {
            _elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(client, ns, name, identity))
            {
                LeaseDuration = _duration,
                RenewDeadline = _duration * 2 / 3,
                RetryPeriod = _duration * 2 / 15,
            });
            // Not LeaderElector.IsLeader(): it says whether the last Lease this agent read names it, and a holder that can
            // no longer renew (the API server refuses or cannot be reached) keeps reading its own name from what it last
            // saw, past the time another agent may take the Lease over. The elector stops leading once renewing has failed
            // for RenewDeadline, which is shorter than the LeaseDuration the others wait for.
            var term = new Term();
            _elector.OnStartedLeading += () => term.Leading = true;
            _elector.OnStoppedLeading += () => term.Leading = false;
            _term = term;
            _stop = new CancellationTokenSource();
            var elector = _elector;
            var stop = _stop.Token;
            _ = Task.Run(() => elector.RunAndTryToHoldLeadershipForeverAsync(stop), CancellationToken.None);
        }
        return _term!.Leading;
    }

    public void Resign()
    {
        if (_term is not null)
            _term.Leading = false;
        _stop?.Cancel();
        _stop?.Dispose();
        _elector?.Dispose();
        _stop = null;
        _elector = null;
        _term = null;
    }

    public void Dispose() => Resign();
}
