using System.Net.Sockets;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>The reference bandwidth plugin's layout, built with our verbs, carrying real packets.</summary>
public sealed class BandwidthTests : IDisposable
{
    private readonly TestNamespace _node = new();
    private readonly TestNamespace _pod;

    public BandwidthTests()
    {
        try
        {
            _pod = new TestNamespace();
        }
        catch
        {
            _node.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _pod.Dispose();
        _node.Dispose();
    }

    [Fact]
    public void PodEgress_GoesThroughIfbTbf_PodIngress_ThroughHostVethTbf()
    {
        var node = _node.Netlink;
        node.LinkAddVeth("vpod0", "eth0", peerNamespace: _pod.Ns);
        var host = node.LinkByName("vpod0")!.Index;
        var podEth = _pod.Netlink.LinkByName("eth0")!.Index;
        node.LinkAddIfb("bwp0", mtu: 1500);
        var ifb = node.LinkByName("bwp0")!.Index;
        foreach (var index in new[] { host, ifb })
        {
            node.LinkSetUp(index);
        }

        _pod.Netlink.LinkSetUp(podEth);
        node.AddrAdd(host, IpPrefix.Parse("10.66.0.1/24"));
        _pod.Netlink.AddrAdd(podEth, IpPrefix.Parse("10.66.0.2/24"));

        // Ingress to the pod: tbf on the host side of the veth. Egress from the pod: redirect what the host
        // veth receives to the ifb and shape it there.
        node.QdiscAddTbf(host, TokenBucket.FromBits(10_000_000, 100_000));
        node.QdiscAddIngress(host);
        node.FilterAddMirredRedirectAll(host, ifb);
        node.QdiscAddTbf(ifb, TokenBucket.FromBits(5_000_000, 50_000));

        _pod.Exec("ping -c 3 -i 0.2 -W 5 10.66.0.1");

        Assert.True(SentPackets("bwp0") >= 3, "echo requests from the pod should pass the ifb's tbf");
        Assert.True(SentPackets("vpod0") >= 3, "echo replies to the pod should pass the host veth's tbf");
    }

    private long SentPackets(string device)
    {
        var qdiscs = System.Text.Json.JsonDocument.Parse(Shell.Run("tc", $"-n {_node.Name} -s -j qdisc show dev {device} root")).RootElement;
        var tbf = qdiscs.EnumerateArray().Single(q => q.GetProperty("kind").GetString() == "tbf");
        return tbf.GetProperty("packets").GetInt64();
    }
}
