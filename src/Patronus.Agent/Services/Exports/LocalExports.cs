using System.Net;
using k8s.Models;
using Patronus.Agent.Services.Import;
using Patronus.Agent.Services.Model;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Exports;

/// <summary>
/// This cluster's exports as the merge takes them, from its ServiceExports, the Services they name and those Services'
/// EndpointSlices (the endpointslice controller's, labelled <c>kubernetes.io/service-name</c>; imported slices never carry
/// that label, so nothing imported is exported again). Pure.
/// </summary>
public static class LocalExports
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    public static IReadOnlyList<ClusterExport> From(string clusterId, IEnumerable<V1Alpha1ServiceExport> exports, IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices)
    {
        var byKey = services.ToDictionary(s => new ServiceKey(s.Metadata.NamespaceProperty ?? "default", s.Metadata.Name));
        var slicesByService = slices
            .Where(s => s.Metadata.Labels is { } labels && labels.ContainsKey(ServiceNameLabel)
                && !(labels.TryGetValue(ImportedObjects.ManagedByLabel, out var by) && by == ImportedObjects.ManagedBy))
            .GroupBy(s => new ServiceKey(s.Metadata.NamespaceProperty ?? "default", s.Metadata.Labels![ServiceNameLabel]))
            .ToDictionary(g => g.Key, g => g.ToList());
        var result = new List<ClusterExport>();
        foreach (var export in exports.OrderBy(e => e.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(e => e.Metadata.Name, StringComparer.Ordinal))
        {
            var key = new ServiceKey(export.Metadata.NamespaceProperty ?? "default", export.Metadata.Name);
            var created = export.Metadata.CreationTimestamp is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;
            if (!byKey.TryGetValue(key, out var service))
            {
                result.Add(new ClusterExport(clusterId, key, created, null, []));
                continue;
            }
            var ownSlices = slicesByService.GetValueOrDefault(key) ?? [];
            result.Add(new ClusterExport(clusterId, key, created, Spec(service, ownSlices), Endpoints(ownSlices)));
        }
        return result;
    }

    private static ExportedServiceSpec Spec(V1Service service, IReadOnlyList<V1EndpointSlice> slices)
    {
        var spec = service.Spec ?? new V1ServiceSpec();
        var type = spec.Type == "ExternalName" ? ExportedServiceType.ExternalName
            : spec.ClusterIP == "None" ? ExportedServiceType.Headless
            : ExportedServiceType.ClusterSetIP;
        var ports = (spec.Ports ?? []).Select(p =>
        {
            var name = p.Name ?? "";
            var protocol = p.Protocol ?? "TCP";
            // The endpoints' port: the slice's port of the same name holds the resolved target port (a named target port
            // can differ per pod); without a slice, the Service's numeric target port, else its port.
            var sliced = slices.SelectMany(s => s.Ports ?? []).FirstOrDefault(sp => (sp.Name ?? "") == name && (sp.Protocol ?? "TCP") == protocol && sp.Port is > 0);
            var target = sliced?.Port ?? (p.TargetPort?.Value is { } value && int.TryParse(value, out var number) ? number : p.Port);
            return new ExportedPort(name, protocol, p.Port, p.AppProtocol, target);
        }).ToList();
        var families = (spec.IpFamilies ?? []).Select(f => f == "IPv6" ? IpFamily.IPv6 : IpFamily.IPv4).Distinct().ToList();
        if (families.Count == 0)
            families = [spec.ClusterIP is { } ip && IPAddress.TryParse(ip, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IpFamily.IPv6 : IpFamily.IPv4];
        var affinity = spec.SessionAffinity == "ClientIP" ? SessionAffinity.ClientIP : SessionAffinity.None;
        return new ExportedServiceSpec(type, ports, affinity, affinity == SessionAffinity.ClientIP ? spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds : null, families);
    }

    /// <summary>The ready endpoints (a missing condition counts as ready, as the EndpointSlice API says), each address once.</summary>
    private static IReadOnlyList<ReadyEndpoint> Endpoints(IReadOnlyList<V1EndpointSlice> slices)
    {
        var seen = new HashSet<IPAddress>();
        var endpoints = new List<ReadyEndpoint>();
        foreach (var slice in slices.OrderBy(s => s.Metadata.Name, StringComparer.Ordinal))
        {
            foreach (var endpoint in slice.Endpoints ?? [])
            {
                if (endpoint.Conditions?.Ready == false)
                    continue;
                var addresses = (endpoint.Addresses ?? []).Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().Where(seen.Add).Take(2).ToList();
                if (addresses.Count > 0)
                    endpoints.Add(new ReadyEndpoint(addresses, endpoint.Hostname));
            }
        }
        return endpoints;
    }
}
