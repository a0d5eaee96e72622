using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>The bandwidth capability gives the same tc setup the reference bandwidth plugin makes, and DEL removes it.</summary>
[Collection("kernel")]
public partial class BandwidthTests
{
    private const string Limits = """{"bandwidth":{"ingressRate":8000000,"ingressBurst":800000,"egressRate":16000000,"egressBurst":1600000}}""";

    [GeneratedRegex(@"dev \S+|(pat|pib|bwp)[0-9a-f]{12}|index \d+|refcnt \d+")]
    private static partial Regex Names();

    private static string Shape(Node node, string hostVeth, string ifb) =>
        Names().Replace(
            Shell.Must("ip", "netns", "exec", node.Ns.Name, "tc", "qdisc", "show", "dev", hostVeth)
            + Shell.Must("ip", "netns", "exec", node.Ns.Name, "tc", "qdisc", "show", "dev", ifb),
            "_");

    [Fact]
    public void Add_WithBandwidth_ShapesLikeTheReferencePlugin_AndDelRemovesTheIfb()
    {
        using var node = new Node(subnet6: null, cniVersion: "1.0.0");
        var plain = node.Conf;

        // Ours, through the runtimeConfig capability.
        node.Conf = node.WithMember("runtimeConfig", Limits);
        var podA = node.NewPod();
        var ours = node.Add("pcni-bw-ours", podA);
        var ourVeth = ours.GetProperty("interfaces")[1].GetProperty("name").GetString()!;
        var ourIfb = "pib" + ourVeth[3..];
        Assert.Contains(ourIfb, node.HostLinks());

        // The reference bandwidth plugin, chained after an unshaped ADD of ours.
        node.Conf = plain;
        var podB = node.NewPod();
        var unshaped = node.Add("pcni-bw-ref", podB);
        var refConf = JsonNode.Parse($$$"""{"cniVersion":"1.0.0","name":"pcni-net","type":"bandwidth","runtimeConfig":{{{Limits}}}}""")!.AsObject();
        refConf["prevResult"] = JsonNode.Parse(unshaped.GetRawText());
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "pcni-bw-ref", ["CNI_NETNS"] = podB.Path,
            ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/usr/lib/cni",
        };
        var reference = Plugin.Run(env, refConf.ToJsonString(), node.Ns.Name, "/usr/lib/cni/bandwidth");
        Assert.True(reference.ExitCode == 0, reference.ToString());
        var refVeth = unshaped.GetProperty("interfaces")[1].GetProperty("name").GetString()!;
        var refIfb = Regex.Match(node.HostLinks(), "bwp[0-9a-f]{12}").Value;

        var ourShape = Shape(node, ourVeth, ourIfb);
        Assert.Contains("tbf", ourShape);
        Assert.Contains("rate 8Mbit burst 100000b lat 25ms", ourShape);
        Assert.Contains("rate 16Mbit burst 200000b lat 25ms", ourShape);
        Assert.Equal(Shape(node, refVeth, refIfb), ourShape);
        Assert.Contains("Egress Redirect to device " + ourIfb,
            Shell.Must("ip", "netns", "exec", node.Ns.Name, "tc", "filter", "show", "dev", ourVeth, "ingress"));
        Assert.True(Shell.Ping(podA.Name, "10.231.0.1"));

        node.Conf = node.WithMember("runtimeConfig", Limits);
        var check = node.Invoke("CHECK", "pcni-bw-ours", podA.Path, conf: node.WithPrevResult(ours));
        Assert.True(check.ExitCode == 0, check.ToString());
        Shell.Must("ip", "netns", "exec", node.Ns.Name, "tc", "qdisc", "del", "dev", ourIfb, "root");
        check = node.Invoke("CHECK", "pcni-bw-ours", podA.Path, conf: node.WithPrevResult(ours));
        Assert.Equal(100, check.ErrorCode);
        Assert.Contains($"no token bucket shapes egress on ifb \"{ourIfb}\"", check.Message);
        node.Del("pcni-bw-ours", podA.Path);
        Assert.DoesNotContain(ourIfb, node.HostLinks());
        env["CNI_COMMAND"] = "DEL";
        Plugin.Run(env, refConf.ToJsonString(), node.Ns.Name, "/usr/lib/cni/bandwidth");
        node.Del("pcni-bw-ref", podB.Path);
        Assert.Empty(node.OurVeths());
    }

    [Fact]
    public void Add_WithBandwidth_FailureAfterShaping_LeavesNoIfb()
    {
        using var node = new Node(subnet6: null);
        node.Conf = node.WithMember("runtimeConfig", Limits);
        var pod = node.NewPod();
        // The ifb name is taken by a device of another kind: shaping fails after the veth and the allocation.
        var ifb = "pib" + Patronus.Cni.Plumbing.HostVethName.For("pcni-bw-fail", "eth0")[3..];
        Shell.Ip("-n", node.Ns.Name, "link", "add", ifb, "type", "veth", "peer", "name", "pcnibwpeer");
        var outcome = node.Invoke("ADD", "pcni-bw-fail", pod.Path);
        Assert.True(outcome.ExitCode != 0, outcome.ToString());
        Assert.Contains($"bandwidth: \"{ifb}\" exists but is a veth device", outcome.Message);
        Assert.Contains(ifb, node.HostLinks());
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.DoesNotContain(" eth0@", pod.Links());
    }
}
