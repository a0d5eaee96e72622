using System.Net.NetworkInformation;
using System.Net.Sockets;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Datapath;
using Patronus.Agent.Endpoints;
using Patronus.Agent.Hosting;
using Patronus.Agent.Mesh;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Status;

/// <summary>What `patronus status` shows, as this agent sees it now.</summary>
public sealed class StatusReporter(AgentOptions options, EndpointRegistry registry, ClusterSync cluster, AgentReadiness readiness, IPolicyDatapath datapath, MeshFeature? mesh = null)
{
    public const string PluginName = "patronus-cni";

    public AgentStatus Report()
    {
        var plugin = Path.Combine(options.CniBinDir, PluginName);
        var meshStatus = mesh is null ? null : MeshStatusReport.Of(mesh);
        return new AgentStatus
        {
            NodeName = options.NodeName,
            Source = options.Source,
            // The one in force: with --datapath auto, the one the agent could start.
            Datapath = DatapathFactory.NameOf(datapath) ?? options.Datapath,
            Ready = readiness.IsReady,
            Plugin = new PluginStatus { Path = plugin, Installed = File.Exists(plugin) },
            Bridge = Bridge(options.Bridge),
            Database = new DatabaseStatus { Path = options.Database, Present = File.Exists(options.Database) },
            PodsManaged = registry.Pods.Count,
            NetworkPolicies = cluster.Snapshot().NetworkPolicies.Count,
            // Tunnels are a gateway's (or a site's); a node that is neither reaches the others through one.
            Tunnels = meshStatus is { Role: not "node" }
                // A member with several gateways is one tunnel for the operator: up while the one carrying its prefixes is.
                ? meshStatus.Sites.GroupBy(s => s.Id).Select(g => new TunnelStatus { ClusterId = g.Key, Interface = meshStatus.Interface, Up = g.Any(s => s.Up && (s.Carrier || g.Count() == 1)) }).ToArray()
                : [],
            Mesh = meshStatus,
        };
    }

    private static BridgeStatus Bridge(string name)
    {
        var bridge = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(i => i.Name == name);
        if (bridge is null)
            return new BridgeStatus { Name = name, Present = false };
        var addresses = bridge.GetIPProperties().UnicastAddresses
            .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork || !a.Address.IsIPv6LinkLocal)
            .Select(a => $"{a.Address}/{a.PrefixLength}")
            .ToArray();
        return new BridgeStatus { Name = name, Present = true, Addresses = addresses };
    }
}
