using System.Net;
using k8s.Models;
using Patronus.Agent.Services.ClusterSetIp;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Import;

/// <summary>An object the writer removes.</summary>
public sealed record ObjectRef(string Kind, string Namespace, string Name);

/// <summary>
/// What the cluster's imports must be: the ServiceImports and EndpointSlices to hold, those to remove, and each export's
/// conditions. <see cref="Merged"/> is every service with a valid export (also where the namespace is missing here).
/// </summary>
public sealed record ImportPlan(
    IReadOnlyList<V1Alpha1ServiceImport> Imports,
    IReadOnlyList<V1EndpointSlice> Slices,
    IReadOnlyList<ObjectRef> Removals,
    IReadOnlyDictionary<ServiceKey, MergedService> Merged,
    IReadOnlyDictionary<ServiceKey, IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>>> Conditions)
{
    /// <summary>
    /// Merges every cluster's exports per service (KEP-1645), gives ClusterSetIPs (keeping those the existing imports hold),
    /// and withdraws the endpoints of clusters that are not alive (their slices stay, empty, so the import and its VIP stay
    /// and the endpoints return with the cluster). Imports are made only where the namespace exists (KEP-1645: namespace
    /// sameness). <paramref name="announced"/>: the clusters whose exports have reached the set, per service (Ready).
    /// </summary>
    public static ImportPlan Make(
        IReadOnlyList<ClusterExport> exports,
        Func<string, bool> alive,
        Func<string, bool> namespaceExists,
        IReadOnlyList<V1Alpha1ServiceImport> existingImports,
        IReadOnlyList<V1EndpointSlice> existingSlices,
        ClusterSetIpAllocator allocator,
        Func<ServiceKey, IReadOnlySet<string>> announced)
    {
        var allocated = existingImports.ToDictionary(
            i => new ServiceKey(i.Metadata.NamespaceProperty ?? "default", i.Metadata.Name),
            i => (IReadOnlyList<IPAddress>)(i.Spec?.Ips ?? []).Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList());
        var imports = new List<V1Alpha1ServiceImport>();
        var slices = new List<V1EndpointSlice>();
        var merged = new Dictionary<ServiceKey, MergedService>();
        var conditions = new Dictionary<ServiceKey, IReadOnlyDictionary<string, IReadOnlyList<ExportCondition>>>();
        foreach (var group in exports.GroupBy(e => e.Service).OrderBy(g => g.Key.Namespace, StringComparer.Ordinal).ThenBy(g => g.Key.Name, StringComparer.Ordinal))
        {
            var service = ServiceMerger.Merge(group.ToList(), out var invalid, announced(group.Key));
            conditions[group.Key] = service is null ? invalid : service.Conditions;
            if (service is null)
                continue;
            merged[group.Key] = service;
            if (!namespaceExists(group.Key.Namespace))
                continue;
            var ips = service.Type == ExportedServiceType.Headless ? [] : allocator.Allocate(group.Key, service.IpFamilies, allocated);
            allocated[group.Key] = ips;
            var reachable = service with
            {
                Exports = service.Exports.Select(e => alive(e.ClusterId) ? e : e with { Endpoints = [] }).ToList(),
            };
            imports.Add(ImportedObjects.ServiceImport(reachable, ips));
            slices.AddRange(ImportedObjects.EndpointSlices(reachable));
        }
        var wantedImports = imports.Select(i => (i.Metadata.NamespaceProperty, i.Metadata.Name)).ToHashSet();
        var wantedSlices = slices.Select(s => (s.Metadata.NamespaceProperty, s.Metadata.Name)).ToHashSet();
        var removals = existingImports
            .Where(i => !wantedImports.Contains((i.Metadata.NamespaceProperty ?? "default", i.Metadata.Name)))
            .Select(i => new ObjectRef(V1Alpha1ServiceImport.KindName, i.Metadata.NamespaceProperty ?? "default", i.Metadata.Name))
            .Concat(existingSlices
                .Where(s => s.Metadata.Labels is { } labels && labels.TryGetValue(ImportedObjects.ManagedByLabel, out var by) && by == ImportedObjects.ManagedBy)
                .Where(s => !wantedSlices.Contains((s.Metadata.NamespaceProperty ?? "default", s.Metadata.Name)))
                .Select(s => new ObjectRef("EndpointSlice", s.Metadata.NamespaceProperty ?? "default", s.Metadata.Name)))
            .ToList();
        return new ImportPlan(imports, slices, removals, merged, conditions);
    }
}
