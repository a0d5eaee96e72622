using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Import;

/// <summary>
/// What a merged service becomes in a consuming cluster (KEP-1645 "Importing Services"): one ServiceImport in the
/// service's namespace, and one EndpointSlice per source cluster and address family, labelled with the service and the
/// source cluster and managed by Patronus, not by the endpointslice controller (which would otherwise reconcile them
/// away). Pure: the writer creates, updates and deletes what this says.
/// </summary>
public static class ImportedObjects
{
    public const string ServiceNameLabel = "multicluster.kubernetes.io/service-name";
    public const string SourceClusterLabel = "multicluster.kubernetes.io/source-cluster";
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";

    /// <summary>Our value of the managed-by label; the endpointslice controller's is endpointslice-controller.k8s.io.</summary>
    public const string ManagedBy = "mcs.patronus.io";

    /// <summary>The ServiceImport of a merged service with its ClusterSetIPs (one per family, in the order of the families; none for Headless).</summary>
    public static V1Alpha1ServiceImport ServiceImport(MergedService service, IReadOnlyList<IPAddress> clusterSetIps)
    {
        if (service.Type == ExportedServiceType.Headless && clusterSetIps.Count > 0)
            throw new ArgumentException($"{service.Service} is headless and has no ClusterSetIP", nameof(clusterSetIps));
        return new V1Alpha1ServiceImport
        {
            Metadata = new V1ObjectMeta { Name = service.Service.Name, NamespaceProperty = service.Service.Namespace },
            Spec = new V1Alpha1ServiceImportSpec
            {
                Type = service.Type == ExportedServiceType.Headless ? "Headless" : "ClusterSetIP",
                Ports = service.Ports.Select(p => new V1Alpha1ServicePort { Name = p.Name.Length == 0 ? null : p.Name, Protocol = p.Protocol, AppProtocol = p.AppProtocol, Port = p.Port }).ToList(),
                Ips = clusterSetIps.Count == 0 ? null : clusterSetIps.Select(ip => ip.ToString()).ToList(),
                IpFamilies = service.IpFamilies.Select(f => f.ToString()).ToList(),
                SessionAffinity = service.SessionAffinity.ToString(),
                SessionAffinityConfig = service.SessionAffinity == SessionAffinity.ClientIP
                    ? new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = service.AffinityTimeoutSeconds } }
                    : null,
            },
            Status = new V1Alpha1ServiceImportStatus { Clusters = service.Clusters.Order(StringComparer.Ordinal).Select(c => new V1Alpha1ClusterStatus { Cluster = c }).ToList() },
        };
    }

    /// <summary>
    /// The EndpointSlices of a merged service: per source cluster, one per address family its ready endpoints have, holding
    /// those endpoints and the merged ports that cluster exposes (with its endpoints' target ports). A cluster without ready
    /// endpoints keeps an empty slice, so that consumers see it exports the service.
    /// </summary>
    public static IReadOnlyList<V1EndpointSlice> EndpointSlices(MergedService service)
    {
        var slices = new List<V1EndpointSlice>();
        foreach (var export in service.Exports)
        {
            var ports = service.Ports.Where(p => p.Clusters.Contains(export.ClusterId))
                .Select(p => new Discoveryv1EndpointPort
                {
                    Name = p.Name,
                    Protocol = p.Protocol,
                    AppProtocol = p.AppProtocol,
                    Port = export.Spec!.Ports.First(e => e.Name == p.Name && e.Protocol == p.Protocol && e.Port == p.Port).TargetPort,
                }).ToList();
            foreach (var family in FamiliesOf(export))
            {
                var addressFamily = family == IpFamily.IPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
                var endpoints = export.Endpoints
                    .Select(e => (Endpoint: e, Addresses: e.Addresses.Where(a => a.AddressFamily == addressFamily).ToList()))
                    .Where(e => e.Addresses.Count > 0)
                    .Select(e => new V1Endpoint
                    {
                        Addresses = e.Addresses.Select(a => a.ToString()).ToList(),
                        Hostname = e.Endpoint.Hostname,
                        Conditions = new V1EndpointConditions { Ready = true },
                    }).ToList();
                slices.Add(new V1EndpointSlice
                {
                    ApiVersion = "discovery.k8s.io/v1",
                    Kind = "EndpointSlice",
                    Metadata = new V1ObjectMeta
                    {
                        Name = SliceName(service.Service, export.ClusterId, family),
                        NamespaceProperty = service.Service.Namespace,
                        Labels = new Dictionary<string, string>
                        {
                            [ServiceNameLabel] = service.Service.Name,
                            [SourceClusterLabel] = export.ClusterId,
                            [ManagedByLabel] = ManagedBy,
                        },
                    },
                    AddressType = family.ToString(),
                    Ports = ports,
                    Endpoints = endpoints,
                });
            }
        }
        return slices;
    }

    /// <summary>
    /// The imported slices that must go: ours (by the managed-by label) for this service that are no longer wanted. With no
    /// valid export left (<paramref name="wanted"/> empty) that is all of them, and the ServiceImport goes too.
    /// </summary>
    public static IReadOnlyList<V1EndpointSlice> Stale(ServiceKey service, IEnumerable<V1EndpointSlice> existing, IReadOnlyList<V1EndpointSlice> wanted)
    {
        var names = wanted.Select(s => s.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        return existing.Where(s =>
                s.Metadata.NamespaceProperty == service.Namespace
                && s.Metadata.Labels is { } labels
                && labels.TryGetValue(ManagedByLabel, out var by) && by == ManagedBy
                && labels.TryGetValue(ServiceNameLabel, out var name) && name == service.Name
                && !names.Contains(s.Metadata.Name))
            .ToList();
    }

    private static IEnumerable<IpFamily> FamiliesOf(ClusterExport export)
    {
        var families = export.Endpoints.SelectMany(e => e.Addresses).Select(a => a.AddressFamily == AddressFamily.InterNetwork ? IpFamily.IPv4 : IpFamily.IPv6).Distinct().ToList();
        // A cluster with no ready endpoint still has its (empty) slice, in its Service's first family.
        return families.Count > 0 ? families.Order() : export.Spec!.IpFamilies.Take(1);
    }

    /// <summary>
    /// A name unique per service, cluster and family, within the 63 characters kubectl shows comfortably: a readable prefix
    /// and a hash of the whole, since a service name and a cluster id together may exceed it.
    /// </summary>
    internal static string SliceName(ServiceKey service, string cluster, IpFamily family)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{service.Namespace}/{service.Name}/{cluster}/{family}")))[..10];
        var prefix = $"{service.Name}-{cluster}";
        if (prefix.Length > 50)
            prefix = prefix[..50].TrimEnd('-', '.');
        return $"{prefix}-{hash}";
    }
}
