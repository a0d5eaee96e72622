using System.Text.Json.Nodes;
using Patronus.Cni.Tests.Binary;
using Patronus.Cni.Tests.Kernel;

namespace Patronus.Cni.Tests.Clients;

/// <summary>
/// patronus-cni first in a conflist, the reference bandwidth plugin after it, run the way libcni runs a list:
/// each plugin gets the previous result as prevResult; DEL runs in reverse order.
/// </summary>
[Collection("kernel")]
public class ChainingTests
{
    [Fact]
    public void PatronusThenReferenceBandwidth_ShapesTheHostVeth_AndDelRemovesEverything()
    {
        using var node = new Node(subnet6: null, cniVersion: "1.0.0");
        var pod = node.NewPod();
        var ours = node.Add("pcni-chain", pod);
        var hostVeth = ours.GetProperty("interfaces")[1].GetProperty("name").GetString()!;

        var bandwidth = $$$"""
            {"cniVersion":"1.0.0","name":"pcni-net","type":"bandwidth",
             "runtimeConfig":{"bandwidth":{"ingressRate":8000000,"ingressBurst":800000,"egressRate":16000000,"egressBurst":1600000}},
             "prevResult":{{{ours.GetRawText()}}}}
            """;
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "pcni-chain", ["CNI_NETNS"] = pod.Path,
            ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/usr/lib/cni",
        };
        var shaped = Plugin.Run(env, bandwidth, node.Ns.Name, "/usr/lib/cni/bandwidth");
        Assert.True(shaped.ExitCode == 0, shaped.ToString());
        // The chain's final result still describes our interfaces and address.
        Assert.Equal(ours.GetProperty("ips")[0].GetProperty("address").GetString(),
            shaped.Json.GetProperty("ips")[0].GetProperty("address").GetString());

        var qdiscs = Shell.Ip("netns", "exec", node.Ns.Name, "tc", "qdisc", "show", "dev", hostVeth);
        Assert.Contains("tbf", qdiscs);
        Assert.True(Shell.Ping(pod.Name, "10.231.0.1"));

        // CHECK on our plugin with the chain's final result as prevResult.
        var check = node.Invoke("CHECK", "pcni-chain", pod.Path, conf: node.WithPrevResult(shaped.Json));
        Assert.True(check.ExitCode == 0, check.ToString());

        // DEL in reverse order: bandwidth, then ours.
        env["CNI_COMMAND"] = "DEL";
        var del = Plugin.Run(env, bandwidth, node.Ns.Name, "/usr/lib/cni/bandwidth");
        Assert.True(del.ExitCode == 0, del.ToString());
        node.Del("pcni-chain", pod.Path);
        Assert.Empty(node.OurVeths());
        Assert.DoesNotContain("bwp", node.HostLinks());
        Assert.Empty(node.ClaimedAddresses());
    }
}
