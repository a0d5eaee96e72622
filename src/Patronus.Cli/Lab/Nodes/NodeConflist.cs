using System.Text.Json.Nodes;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Lab.Nodes;

/// <summary>
/// The CNI network configuration of one lab node, in two halves as on a real cluster: the lab writes the template
/// (what the ConfigMap's <c>10-patronus.conflist</c> holds: the plugin on the node's bridge, IPAM's store, the
/// node's agent for policy; the lab's only per-node part is paths), and the node's agent fills in the node's pod
/// ranges (its Node's spec.podCIDRs) and MTU and writes the conflist once it is ready (--cni-conf-template,
/// --cni-conf-path). The lab then reads the agent's file as a runtime (libcni) does: <see cref="PluginConfig"/>.
/// </summary>
internal static class NodeConflist
{
    public const string NetworkName = "patronus";
    public const string Bridge = "cni-bridge0";
    public const string CniVersion = "1.1.0";

    public static JsonObject Template(NodePlan node) => new()
    {
        ["cniVersion"] = CniVersion,
        ["name"] = NetworkName,
        ["plugins"] = new JsonArray(new JsonObject
        {
            ["type"] = "patronus-cni",
            ["bridge"] = Bridge,
            ["isGateway"] = true,
            ["isDefaultGateway"] = true,
            ["mtu"] = 1500,
            // The ranges are the agent's to fill in, from the node's Node.
            ["ipam"] = new JsonObject
            {
                ["type"] = "patronus-ipam",
                ["dataDir"] = node.Paths.Ipam,
            },
            ["capabilities"] = new JsonObject { ["ips"] = true },
            ["sdwan"] = new JsonObject
            {
                ["cluster_id"] = node.Cluster,
                ["enable_policy_enforcement"] = true,
                ["database"] = node.Paths.Database,
                ["agent_socket"] = node.Paths.Socket,
                ["agent_spool_dir"] = node.Paths.Spool,
            },
        }),
    };

    public static void WriteTemplate(NodePlan node)
    {
        Directory.CreateDirectory(node.Paths.Directory);
        File.WriteAllText(node.Paths.ConflistTemplate, Template(node).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// The plugin's stdin for one pod, from the node's conflist as libcni builds it: the list's first plugin with
    /// the list's name and cniVersion, and runtimeConfig for the capabilities it declares (here, fixed addresses).
    /// </summary>
    public static string PluginConfig(string conflistPath, IReadOnlyList<string> fixedAddresses)
    {
        var list = JsonNode.Parse(File.ReadAllText(conflistPath))?.AsObject() ?? throw new LabException($"{conflistPath} is empty");
        var plugin = list["plugins"]?.AsArray().FirstOrDefault()?.DeepClone().AsObject() ?? throw new LabException($"{conflistPath} has no plugins");
        plugin["name"] = list["name"]?.DeepClone();
        plugin["cniVersion"] = list["cniVersion"]?.DeepClone();
        if (fixedAddresses.Count > 0 && plugin["capabilities"]?["ips"]?.GetValue<bool>() == true)
            plugin["runtimeConfig"] = new JsonObject { ["ips"] = new JsonArray(fixedAddresses.Select(a => (JsonNode)a).ToArray()) };
        plugin.Remove("capabilities");
        return plugin.ToJsonString();
    }
}
