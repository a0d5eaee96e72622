using System.Text.Json;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>The whole life of pods on one node: ADD, real traffic (IPv4 and IPv6), CHECK, DEL, nothing left.</summary>
[Collection("kernel")]
public class LifecycleTests
{
    private static string Address(JsonElement result, int i) =>
        result.GetProperty("ips")[i].GetProperty("address").GetString()!.Split('/')[0];

    [Fact]
    public void ThreePods_TalkToEachOtherAndTheGateway_CheckPasses_DelLeavesNothing()
    {
        using var node = new Node();
        var pods = Enumerable.Range(0, 3).Select(_ => node.NewPod()).ToList();
        var results = pods.Select((p, i) => node.Add($"pcni-life-{i}", p)).ToList();

        foreach (var (pod, i) in pods.Select((p, i) => (p, i)))
        {
            Assert.True(Shell.Ping(pod.Name, "10.231.0.1"), $"pod {i} cannot reach the IPv4 gateway");
            Assert.True(Shell.Ping(pod.Name, "fd00:231::1"), $"pod {i} cannot reach the IPv6 gateway");
            var peer = results[(i + 1) % 3];
            Assert.True(Shell.Ping(pod.Name, Address(peer, 0)), $"pod {i} cannot reach {Address(peer, 0)}");
            Assert.True(Shell.Ping(pod.Name, Address(peer, 1)), $"pod {i} cannot reach {Address(peer, 1)}");
        }

        // The addresses are distinct and the node can reach the pods too (the gateway is on the bridge).
        Assert.Equal(6, results.SelectMany(r => new[] { Address(r, 0), Address(r, 1) }).Distinct().Count());
        Assert.True(Shell.Ping(node.Ns.Name, Address(results[0], 0)));

        for (var i = 0; i < 3; i++)
        {
            var check = node.Invoke("CHECK", $"pcni-life-{i}", pods[i].Path, conf: node.WithPrevResult(results[i]));
            Assert.True(check.ExitCode == 0, $"CHECK failed: {check}");
        }

        for (var i = 0; i < 3; i++)
        {
            node.Del($"pcni-life-{i}", pods[i].Path);
            Assert.DoesNotContain("eth0", pods[i].Links());
        }

        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    [Theory]
    [InlineData("0.3.0")]
    [InlineData("0.3.1")]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Add_EachVersion_PrintsTheResultInThatVersion(string version)
    {
        using var node = new Node(cniVersion: version);
        var pod = node.NewPod();
        var result = node.Add("pcni-ver", pod);
        Assert.Equal(version, result.GetProperty("cniVersion").GetString());
        var ip = result.GetProperty("ips")[0];
        Assert.Equal(version.StartsWith("0.", StringComparison.Ordinal), ip.TryGetProperty("version", out var v));
        if (version.StartsWith("0.", StringComparison.Ordinal))
        {
            Assert.Equal("4", v.GetString());
        }

        Assert.Equal(pod.Path, result.GetProperty("interfaces")[2].GetProperty("sandbox").GetString());
        node.Del("pcni-ver", pod.Path);
    }

    [Fact]
    public void Add_WithRuntimeMacAndIpsAndMtu_AppliesThem()
    {
        using var node = new Node(subnet6: null, extra: "\"mtu\":1400");
        node.Conf = node.WithMember("runtimeConfig", """{"mac":"0a:58:0a:e7:00:2a","ips":["10.231.0.42/24"]}""");
        var pod = node.NewPod();
        var result = node.Add("pcni-rt", pod);
        Assert.Equal("10.231.0.42/24", result.GetProperty("ips")[0].GetProperty("address").GetString());
        var link = Shell.Ip("-n", pod.Name, "link", "show", "eth0");
        Assert.Contains("0a:58:0a:e7:00:2a", link);
        Assert.Contains("mtu 1400", link);
        Assert.Contains("10.231.0.42/24", Shell.Ip("-n", pod.Name, "addr", "show", "eth0"));
        node.Del("pcni-rt", pod.Path);
    }

    [Fact]
    public void Add_CniArgsFromKubernetes_AreAccepted()
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        var outcome = node.Invoke("ADD", "pcni-args", pod.Path,
            args: "IgnoreUnknown=1;K8S_POD_UID=u-1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=pcni-args;EXTRA=1");
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        node.Del("pcni-args", pod.Path);
    }

    [Fact]
    public void Add_DelegatedToHostLocal_WorksAndDelReleases()
    {
        // Debian's host-local (containernetworking-plugins 1.1.1) speaks up to CNI 1.0.0.
        using var node = new Node(subnet6: null, cniVersion: "1.0.0");
        var hostLocalDir = Path.Combine(Path.GetTempPath(), "pcni-hl-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            node.Conf = node.WithMember("ipam", $$"""{"type":"host-local","subnet":"10.232.0.0/24","dataDir":"{{hostLocalDir}}"}""");
            var pods = new[] { node.NewPod(), node.NewPod() };
            var a = node.Add("pcni-hl-a", pods[0]);
            var b = node.Add("pcni-hl-b", pods[1]);
            Assert.Equal("10.232.0.1", a.GetProperty("ips")[0].GetProperty("gateway").GetString());
            Assert.True(Shell.Ping(pods[0].Name, Address(b, 0)));
            Assert.True(Shell.Ping(pods[0].Name, "10.232.0.1"));
            var check = node.Invoke("CHECK", "pcni-hl-a", pods[0].Path, conf: node.WithPrevResult(a));
            Assert.True(check.ExitCode == 0, check.ToString());
            node.Del("pcni-hl-a", pods[0].Path);
            node.Del("pcni-hl-b", pods[1].Path);
            Assert.DoesNotContain(Directory.GetFiles(Path.Combine(hostLocalDir, "pcni-net")), f => f.Contains("10.232.", StringComparison.Ordinal));
            Assert.Empty(node.OurVeths());
        }
        finally
        {
            if (Directory.Exists(hostLocalDir))
            {
                Directory.Delete(hostLocalDir, true);
            }
        }
    }

    [Theory]
    [InlineData("\"hairpinMode\":true", "hairpin on", null)]
    [InlineData("\"promiscMode\":true", "hairpin off", "PROMISC")]
    public void Add_HairpinOrPromisc_IsSetOnThePortOrTheBridge(string member, string portFlag, string? bridgeFlag)
    {
        using var node = new Node(subnet6: null, extra: member);
        var pod = node.NewPod();
        var result = node.Add("pcni-hairpin", pod);
        var host = result.GetProperty("interfaces")[1].GetProperty("name").GetString()!;
        Assert.Contains(portFlag, Shell.Ip("-n", node.Ns.Name, "-d", "link", "show", host));
        if (bridgeFlag is not null)
        {
            Assert.Contains(bridgeFlag, Shell.Ip("-n", node.Ns.Name, "link", "show", node.Bridge));
        }

        node.Del("pcni-hairpin", pod.Path);
    }

    [Fact]
    public void Add_ChainedAfterAnotherPlugin_KeepsItsResultAndAppendsOurs()
    {
        using var node = new Node(subnet6: null);
        node.Conf = node.WithMember("prevResult",
            """{"cniVersion":"1.1.0","interfaces":[{"name":"lo0","sandbox":"/x"}],"ips":[{"interface":0,"address":"192.168.77.1/32"}]}""");
        var pod = node.NewPod();
        var result = node.Add("pcni-chained", pod);
        var interfaces = result.GetProperty("interfaces");
        Assert.Equal("lo0", interfaces[0].GetProperty("name").GetString());
        Assert.Equal("eth0", interfaces[3].GetProperty("name").GetString());
        Assert.Equal("192.168.77.1/32", result.GetProperty("ips")[0].GetProperty("address").GetString());
        Assert.Equal(3, result.GetProperty("ips")[1].GetProperty("interface").GetInt32());
        node.Del("pcni-chained", pod.Path);
    }
}
