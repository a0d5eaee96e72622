using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Patronus.Agent.Services.Merge;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.Datapath;

/// <summary>A backend of a ClusterSetIP port: a ready endpoint of an exporting cluster and the port it listens on.</summary>
public sealed record VipBackend(string Cluster, IPAddress Address, int Port)
{
    public override string ToString() => Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"{Cluster} [{Address}]:{Port}" : $"{Cluster} {Address}:{Port}";
}

/// <summary>One VIP, protocol and port of a ClusterSetIP import, and the backends its new connections are spread over.</summary>
public sealed record ClusterSetVip(
    ServiceKey Service,
    IPAddress Address,
    string Protocol,
    int Port,
    SessionAffinity SessionAffinity,
    int AffinityTimeoutSeconds,
    IReadOnlyList<VipBackend> Backends)
{
    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary>
    /// A short name for the VIP's chains, the same in every render: chains and affinity sets keep their names (and the
    /// sets their contents) across transactions.
    /// </summary>
    internal string Id => Hash($"{Address}|{Protocol}|{Port}");

    internal static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    /// <summary>
    /// The VIPs of a merged ClusterSetIP service: for each of its ClusterSetIPs and ports, the ready endpoints of the
    /// clusters that expose that port (KEP-1645: traffic to a port goes only to clusters that expose it), of the VIP's
    /// family, minus the clusters in <paramref name="withdrawn"/> (those whose paths are all down). With
    /// <paramref name="preferred"/> (this cluster, when it prefers local endpoints): a port and family for which that
    /// cluster has backends goes to them only; others (none ready there, or a port it does not expose) to every cluster's.
    /// </summary>
    public static IReadOnlyList<ClusterSetVip> From(MergedService service, IReadOnlyList<IPAddress> clusterSetIps, IReadOnlySet<string>? withdrawn = null, string? preferred = null)
    {
        if (service.Type != ExportedServiceType.ClusterSetIP)
            return [];
        var vips = new List<ClusterSetVip>();
        foreach (var vip in clusterSetIps)
        {
            foreach (var port in service.Ports)
            {
                var backends = service.Backends(port)
                    .Where(b => withdrawn is null || !withdrawn.Contains(b.Cluster))
                    .SelectMany(b => b.Endpoint.Addresses.Where(a => a.AddressFamily == vip.AddressFamily).Select(a => new VipBackend(b.Cluster, a, b.TargetPort)))
                    .Distinct()
                    .ToList();
                if (preferred is not null && backends.Any(b => b.Cluster == preferred))
                    backends = backends.Where(b => b.Cluster == preferred).ToList();
                vips.Add(new ClusterSetVip(service.Service, vip, port.Protocol, port.Port, service.SessionAffinity, service.AffinityTimeoutSeconds, backends));
            }
        }
        return vips;
    }
}
