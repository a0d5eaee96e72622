using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace Patronus.Cli.Lab.ClusterState;

/// <summary>
/// The lab playing Kubernetes' endpointslice controller: for every Service with a selector, EndpointSlices (one per
/// address family of the Service) holding the addresses of the running pods it selects, with the Service's ports resolved
/// to the pods' target ports; slices of Services that went are removed. Run after every change to the cluster state.
/// Pods are ready once wired (the lab has no readiness probes).
/// </summary>
internal static class EndpointSliceController
{
    public const string ManagedBy = "endpointslice-controller.k8s.io";
    private const string ServiceNameLabel = "kubernetes.io/service-name";
    private const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";

    /// <returns>How many slices were written or removed.</returns>
    public static int Reconcile(ClusterStateFolder folder)
    {
        var set = folder.Load();
        var services = set.Of<V1Service>();
        var pods = set.Pods;
        var wanted = services.SelectMany(s => SlicesOf(s, pods)).ToList();
        var changes = wanted.Count(folder.PutIfChanged);
        var names = wanted.Select(s => (s.Metadata.NamespaceProperty, s.Metadata.Name)).ToHashSet();
        foreach (var stale in set.Of<V1EndpointSlice>().Where(s => s.Metadata.Labels is { } labels
            && labels.TryGetValue(ManagedByLabel, out var by) && by == ManagedBy
            && !names.Contains((s.Metadata.NamespaceProperty ?? "default", s.Metadata.Name))))
        {
            folder.Remove("EndpointSlice", stale.Metadata.NamespaceProperty ?? "default", stale.Metadata.Name);
            changes++;
        }
        return changes;
    }

    private static IEnumerable<V1EndpointSlice> SlicesOf(V1Service service, IReadOnlyList<V1Pod> pods)
    {
        var spec = service.Spec;
        if (spec?.Selector is not { Count: > 0 } selector || spec.Type == "ExternalName")
            yield break;
        var ns = service.Metadata.NamespaceProperty ?? "default";
        var selected = pods
            .Where(p => (p.Metadata.NamespaceProperty ?? "default") == ns && p.Metadata.DeletionTimestamp is null
                && selector.All(kv => p.Metadata.Labels is { } labels && labels.TryGetValue(kv.Key, out var value) && value == kv.Value))
            .OrderBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        var families = spec.IpFamilies is { Count: > 0 } given ? given : ["IPv4"];
        foreach (var family in families.Distinct())
        {
            var addressFamily = family == "IPv6" ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
            var endpoints = selected
                .Select(p => (Pod: p, Address: (p.Status?.PodIPs ?? []).Select(ip => IPAddress.TryParse(ip.Ip, out var a) ? a : null)
                    .FirstOrDefault(a => a?.AddressFamily == addressFamily)))
                .Where(e => e.Address is not null)
                .Select(e => new V1Endpoint
                {
                    Addresses = [e.Address!.ToString()],
                    Conditions = new V1EndpointConditions { Ready = true, Serving = true, Terminating = false },
                    // As the controller does: a hostname only for a pod that names this Service as its subdomain.
                    Hostname = e.Pod.Spec?.Subdomain == service.Metadata.Name ? e.Pod.Spec?.Hostname : null,
                    NodeName = e.Pod.Spec?.NodeName,
                    TargetRef = new V1ObjectReference { Kind = "Pod", Name = e.Pod.Metadata.Name, NamespaceProperty = ns },
                })
                .ToList();
            yield return new V1EndpointSlice
            {
                ApiVersion = "discovery.k8s.io/v1",
                Kind = "EndpointSlice",
                Metadata = new V1ObjectMeta
                {
                    Name = $"{service.Metadata.Name}-{family.ToLowerInvariant()}",
                    NamespaceProperty = ns,
                    Labels = new Dictionary<string, string> { [ServiceNameLabel] = service.Metadata.Name, [ManagedByLabel] = ManagedBy },
                },
                AddressType = family,
                Endpoints = endpoints,
                Ports = (spec.Ports ?? []).Select(p => new Discoveryv1EndpointPort
                {
                    Name = p.Name,
                    Protocol = p.Protocol ?? "TCP",
                    AppProtocol = p.AppProtocol,
                    Port = TargetPort(p, selected),
                }).ToList(),
            };
        }
    }

    /// <summary>The port the pods listen on: a number as given, a name looked up in the selected pods' container ports.</summary>
    private static int TargetPort(V1ServicePort port, IReadOnlyList<V1Pod> pods)
    {
        var target = port.TargetPort?.Value;
        if (string.IsNullOrEmpty(target))
            return port.Port;
        if (int.TryParse(target, out var number))
            return number;
        return pods.SelectMany(p => p.Spec?.Containers ?? []).SelectMany(c => c.Ports ?? []).FirstOrDefault(c => c.Name == target)?.ContainerPort ?? port.Port;
    }
}
