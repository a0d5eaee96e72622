using System.Text.Json.Nodes;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Nodes;
using Patronus.Cli.Lab.Plan;

namespace Patronus.Cli.Tests.Lab;

public class NodeConflistTests
{
    private static readonly NodePlan Node = LabPlan.Create(
        LabConfigReader.Read("clusters:\n- id: a\n  nodes: [{name: n1}, {name: n2}]", "LAB.yaml", "/labs", checkFiles: false),
        "lab", "/run/labs/lab").Clusters[0].Nodes[1];

    [Fact]
    public void TheTemplate_LeavesTheRangesToTheAgent_AndPointsAtTheNodesAgent()
    {
        var plugin = NodeConflist.Template(Node)["plugins"]![0]!;

        Assert.Equal("patronus-cni", (string?)plugin["type"]);
        Assert.Null(plugin["ipam"]!["ranges"]);
        Assert.Equal(Node.Paths.Ipam, (string?)plugin["ipam"]!["dataDir"]);
        Assert.Equal(Node.Paths.Socket, (string?)plugin["sdwan"]!["agent_socket"]);
        Assert.Equal("a", (string?)plugin["sdwan"]!["cluster_id"]);
    }

    [Fact]
    public void ThePluginsInput_IsBuiltFromTheConflist_AsLibcniDoes()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, NodeConflist.Template(Node).ToJsonString());

            var withAddress = JsonNode.Parse(NodeConflist.PluginConfig(file, ["10.244.1.7/24"]))!;
            var without = JsonNode.Parse(NodeConflist.PluginConfig(file, []))!;

            Assert.Equal(NodeConflist.NetworkName, (string?)withAddress["name"]);
            Assert.Equal(NodeConflist.CniVersion, (string?)withAddress["cniVersion"]);
            Assert.Equal("""{"ips":["10.244.1.7/24"]}""", withAddress["runtimeConfig"]!.ToJsonString());
            Assert.Null(without["runtimeConfig"]);
            Assert.Null(without["capabilities"]);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
