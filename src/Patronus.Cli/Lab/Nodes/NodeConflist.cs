using System.Text.Json.Nodes;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Lab.Nodes;

/// <summary>
/// The CNI network configuration list of one lab node: the plugin on the node's bridge, IPAM over the node's pod
/// ranges (its Node's spec.podCIDRs), and the node's agent for policy. This is the one place the lab makes it:
/// once the agent writes the node's conflist itself from its Node (issue 8, "Per-node pod ranges"), the lab stops
/// calling <see cref="Write"/> and reads the agent's file instead; <see cref="PluginConfig"/> already reads it as a
/// runtime (libcni) does.
/// </summary>
internal static class NodeConflist
{
    public const string NetworkName = "patronus";
    public const string Bridge = "cni-bridge0";
    public const string CniVersion = "1.1.0";

    public static JsonObject Create(NodePlan node)
    {
        var ranges = new JsonArray(node.PodCIDRs.Select(range => (JsonNode)new JsonArray(new JsonObject { ["subnet"] = range.ToString() })).ToArray());
        return new JsonObject
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
                ["ipam"] = new JsonObject
                {
                    ["type"] = "patronus-ipam",
                    ["ranges"] = ranges,
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
    }

    /// <summary>Writes the node's conflist atomically (temporary file, then rename), as the agent will.</summary>
    public static void Write(NodePlan node)
    {
        Directory.CreateDirectory(node.Paths.ConflistDirectory);
        var temporary = node.Paths.Conflist + ".tmp";
        File.WriteAllText(temporary, Create(node).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, node.Paths.Conflist, overwrite: true);
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
