namespace Patronus.Cni.Tests.Kernel;

[Collection("kernel")]
public class GcTests
{
    [Fact]
    public void Gc_RemovesWhatNoValidAttachmentOwns_AndKeepsTheRest()
    {
        using var node = new Node();
        var pods = Enumerable.Range(0, 3).Select(_ => node.NewPod()).ToList();
        var results = pods.Select((p, i) => node.Add($"pcni-gc-{i}", p)).ToList();
        // An orphan as an ADD killed before enslaving would leave it: our name, no bridge.
        Shell.Ip("-n", node.Ns.Name, "link", "add", "pat0123456789ab", "type", "veth", "peer", "name", "pcniorphanpeer");
        // Someone else's veth on the node is not ours to remove.
        Shell.Ip("-n", node.Ns.Name, "link", "add", "othervethpcni", "type", "veth", "peer", "name", "othervethpeer");

        var gcConf = node.WithMember("cni.dev/valid-attachments",
            """[{"containerID":"pcni-gc-0","ifname":"eth0"},{"containerID":"pcni-gc-1","ifname":"eth0"}]""");
        var outcome = node.Invoke("GC", "unused", null, conf: gcConf);
        Assert.True(outcome.ExitCode == 0, outcome.ToString());

        Assert.Equal(2, node.OurVeths().Count);
        Assert.Equal(4, node.ClaimedAddresses().Count);
        Assert.DoesNotContain(" eth0@", pods[2].Links());
        Assert.Contains("othervethpcni", node.HostLinks());
        Assert.True(Shell.Ping(pods[0].Name, results[1].GetProperty("ips")[0].GetProperty("address").GetString()!.Split('/')[0]));

        // GC with nothing valid clears the network.
        outcome = node.Invoke("GC", "unused", null, conf: node.WithMember("cni.dev/valid-attachments", "[]"));
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    [Fact]
    public void Status_ReportsCode50WhenNoAddressIsFree()
    {
        using var node = new Node(subnet4: "10.231.0.0/30", subnet6: null);
        Assert.Equal(0, node.Invoke("STATUS", "x", null).ExitCode);
        var pod = node.NewPod();
        node.Add("pcni-status", pod);
        var outcome = node.Invoke("STATUS", "x", null);
        Assert.Equal(50, outcome.ErrorCode);
        Assert.Contains("no free address", outcome.Message);
        node.Del("pcni-status", pod.Path);
        Assert.Equal(0, node.Invoke("STATUS", "x", null).ExitCode);
    }

    [Fact]
    public void Status_PolicyEnforcementWithoutAgent_IsLimitedConnectivity51()
    {
        using var node = new Node(subnet6: null);
        var socket = Path.Combine(node.DataDir, "agent.sock");
        node.Conf = node.WithMember("sdwan", $$"""{"cluster_id":"pcni-1","enable_policy_enforcement":true,"agent_socket":"{{socket}}"}""");
        var outcome = node.Invoke("STATUS", "x", null);
        Assert.Equal(51, outcome.ErrorCode);
        Assert.Contains(socket, outcome.Message);
        Directory.CreateDirectory(node.DataDir);
        File.WriteAllText(socket, "");
        Assert.Equal(0, node.Invoke("STATUS", "x", null).ExitCode);
    }

    [Fact]
    public void Gc_DelegatedIpamThatPredatesGc_StillCleansVeths()
    {
        using var node = new Node(subnet6: null);
        node.Conf = node.WithMember("ipam", """{"type":"host-local","subnet":"10.232.0.0/24","dataDir":"/tmp/pcni-gc-hl-unused"}""");
        Shell.Ip("-n", node.Ns.Name, "link", "add", "pat0123456789ab", "type", "veth", "peer", "name", "pcniorphanpeer");
        var outcome = node.Invoke("GC", "unused", null, conf: node.WithMember("cni.dev/valid-attachments", "[]"));
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Empty(node.OurVeths());
    }
}
