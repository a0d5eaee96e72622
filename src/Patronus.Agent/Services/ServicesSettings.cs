using System.Net;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;
using Patronus.Agent.Services.ClusterSetIp;

namespace Patronus.Agent.Services;

/// <summary>Reads the services options; each bad value is refused naming its option.</summary>
internal static class ServicesSettings
{
    public static void Read(AgentOptions options, IConfiguration configuration)
    {
        var services = options.Services;
        if (configuration["clusterSetIpRange"] is { } ranges && !string.IsNullOrWhiteSpace(ranges))
        {
            try
            {
                ClusterSetIpAllocator.Parse(ranges.Trim());
            }
            catch (ClusterSetIpRangeException e)
            {
                throw new AgentOptionsException(e.Message);
            }
            foreach (var range in ranges.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(IPNetwork.Parse))
            {
                foreach (var own in options.Routes.ClusterCidrs.Concat(options.Routes.ServiceCidrs).Concat(options.Mesh.RemoteCidrs))
                {
                    if (range.Contains(own.BaseAddress) || own.Contains(range.BaseAddress))
                        throw new AgentOptionsException($"option 'clusterset-ip-range': {range} overlaps the cluster set's range {own}");
                }
            }
            services.ClusterSetIpRanges = ranges.Trim();
        }
        if (configuration["clusterSetDns"] is { } dns && !string.IsNullOrWhiteSpace(dns))
        {
            if (!IPEndPoint.TryParse(dns.Trim(), out var endpoint) || endpoint.Port == 0)
                throw new AgentOptionsException($"option 'clusterset-dns' is '{dns}'; expected ADDRESS:PORT such as 10.0.0.1:53");
            services.DnsAddress = endpoint;
        }
        if (configuration["servicesPort"] is { } port && !string.IsNullOrWhiteSpace(port))
        {
            if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value is < 1 or > 65535)
                throw new AgentOptionsException($"option 'services-port' is '{port}'; expected a UDP port (1-65535)");
            services.ExchangePort = value;
        }
        if (configuration["clusterSetPreferLocal"] is { } prefer && !string.IsNullOrWhiteSpace(prefer))
        {
            services.PreferLocal = bool.TryParse(prefer.Trim(), out var on)
                ? on
                : throw new AgentOptionsException($"option 'clusterset-prefer-local' is '{prefer}'; expected true or false");
        }
        if (services.Enabled && !options.Mesh.Enabled)
            throw new AgentOptionsException("option 'clusterset-ip-range' needs the mesh (cluster-id and cluster-set-key): services are exported over it");
        if (services.Enabled && options.IsSite)
            throw new AgentOptionsException("option 'clusterset-ip-range' is for a cluster's agents; a site has no Services");
    }
}
