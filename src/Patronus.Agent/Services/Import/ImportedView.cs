using System.Net;
using k8s.Models;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Import;

/// <summary>An import as the cluster holds it: the service it stands for, rebuilt from the objects, and its ClusterSetIPs.</summary>
public sealed record ImportedService(MergedService Service, IReadOnlyList<IPAddress> ClusterSetIps);

/// <summary>
/// Reads the imports back from the cluster state: each ServiceImport with the EndpointSlices we wrote for it, as the
/// merged service the datapath and DNS are made from. Every node of a cluster programs its ClusterSetIPs and answers
/// its names from these objects, so what one writer decided reaches every node the way any cluster object does. Pure.
/// </summary>
public static class ImportedView
{
    public static IReadOnlyList<ImportedService> From(IEnumerable<V1Alpha1ServiceImport> imports, IEnumerable<V1EndpointSlice> slices)
    {
        var ours = slices
            .Where(s => s.Metadata.Labels is { } labels
                && labels.TryGetValue(ImportedObjects.ManagedByLabel, out var by) && by == ImportedObjects.ManagedBy
                && labels.ContainsKey(ImportedObjects.ServiceNameLabel) && labels.ContainsKey(ImportedObjects.SourceClusterLabel))
            .GroupBy(s => new ServiceKey(s.Metadata.NamespaceProperty ?? "default", s.Metadata.Labels![ImportedObjects.ServiceNameLabel]))
            .ToDictionary(g => g.Key, g => g.ToList());
        var result = new List<ImportedService>();
        foreach (var import in imports.OrderBy(i => i.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(i => i.Metadata.Name, StringComparer.Ordinal))
        {
            var spec = import.Spec;
            if (spec is null)
                continue;
            var key = new ServiceKey(import.Metadata.NamespaceProperty ?? "default", import.Metadata.Name);
            var type = spec.Type == "Headless" ? ExportedServiceType.Headless : ExportedServiceType.ClusterSetIP;
            var affinity = spec.SessionAffinity == "ClientIP" ? SessionAffinity.ClientIP : SessionAffinity.None;
            var timeout = affinity == SessionAffinity.ClientIP ? spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? ExportedServiceSpec.DefaultAffinityTimeoutSeconds : 0;
            var families = (spec.IpFamilies ?? []).Select(f => f == "IPv6" ? IpFamily.IPv6 : IpFamily.IPv4).ToList();
            var bySource = (ours.GetValueOrDefault(key) ?? []).GroupBy(s => s.Metadata.Labels![ImportedObjects.SourceClusterLabel]).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
            var ports = spec.Ports.Select(p => new MergedPort(p.Name ?? "", p.Protocol ?? "TCP", p.Port, p.AppProtocol,
                bySource.Where(g => g.Any(s => SlicePort(s, p) is not null)).Select(g => g.Key).ToList())).ToList();
            var exports = bySource.Select(g =>
            {
                var exported = spec.Ports
                    .Select(p => (Port: p, Target: g.Select(s => SlicePort(s, p)).FirstOrDefault(t => t is not null)))
                    .Where(x => x.Target is not null)
                    .Select(x => new ExportedPort(x.Port.Name ?? "", x.Port.Protocol ?? "TCP", x.Port.Port, x.Port.AppProtocol, x.Target!.Value))
                    .ToList();
                var endpoints = g.SelectMany(s => s.Endpoints ?? [])
                    .Where(e => e.Conditions?.Ready != false)
                    .Select(e => new ReadyEndpoint((e.Addresses ?? []).Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList(), e.Hostname))
                    .Where(e => e.Addresses.Count > 0)
                    .ToList();
                var exportSpec = new ExportedServiceSpec(type, exported, affinity, affinity == SessionAffinity.ClientIP ? timeout : null, families);
                return new ClusterExport(g.Key, key, DateTimeOffset.UnixEpoch, exportSpec, endpoints);
            }).ToList();
            var ips = (spec.Ips ?? []).Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList();
            var merged = new MergedService(key, type, ports, affinity, timeout, families, exports, new Dictionary<string, IReadOnlyList<ExportCondition>>());
            result.Add(new ImportedService(merged, type == ExportedServiceType.Headless ? [] : ips));
        }
        return result;
    }

    /// <summary>The slice's target port for an import port (matched by name and protocol, as we write them), or null when that cluster does not expose it.</summary>
    private static int? SlicePort(V1EndpointSlice slice, V1Alpha1ServicePort port) =>
        (slice.Ports ?? []).FirstOrDefault(sp => (sp.Name ?? "") == (port.Name ?? "") && (sp.Protocol ?? "TCP") == (port.Protocol ?? "TCP"))?.Port;
}
