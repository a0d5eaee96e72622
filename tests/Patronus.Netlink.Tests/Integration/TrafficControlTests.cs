namespace Patronus.Netlink.Tests.Integration;

public sealed class TrafficControlTests : IDisposable
{
    private readonly TestNamespace _ns = new();
    private readonly int _host;
    private readonly int _ifb;

    public TrafficControlTests()
    {
        try
        {
            _ns.Netlink.LinkAddVeth("vhost", "vpod");
            _ns.Netlink.LinkAddIfb("bwp0");
            _host = _ns.Netlink.LinkByName("vhost")!.Index;
            _ifb = _ns.Netlink.LinkByName("bwp0")!.Index;
            _ns.Netlink.LinkSetUp(_host);
            _ns.Netlink.LinkSetUp(_ifb);
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void QdiscAddTbf_FromReferenceArithmetic_TcShowsSameRateBurstLimit()
    {
        // 1 Mbit/s with a 64 kbit burst: 125000 B/s, 8000 B burst.
        var parameters = TokenBucket.FromBits(1_000_000, 64_000);
        _ns.Netlink.QdiscAddTbf(_ifb, parameters);

        var tbf = _ns.IpJsonTc("-raw qdisc show dev bwp0").EnumerateArray().Single(q => q.GetProperty("kind").GetString() == "tbf");
        Assert.Equal("1:", tbf.GetProperty("handle").GetString());
        Assert.True(tbf.GetProperty("root").GetBoolean());
        var options = tbf.GetProperty("options");
        Assert.Equal(125000, options.GetProperty("rate").GetInt64());
        Assert.Equal(125000 * 25 / 1000 + 8000, options.GetProperty("limit").GetInt64());
        Assert.Equal(8000, options.GetProperty("burst").GetInt64());
        Assert.Equal("f4240", options.GetProperty("burst_raw").GetString()); // 64 ms of 64 ns ticks
        Assert.Equal(1_000_000u, parameters.BufferTicks);

        var listed = Assert.Single(_ns.Netlink.QdiscList(_ifb), q => q.Kind == "tbf");
        Assert.Equal(TcHandle.Make(1, 0), listed.Handle);
        Assert.Equal(TcHandle.Root, listed.Parent);
        Assert.Equal(parameters, listed.TokenBucket);
    }

    [Fact]
    public void QdiscAddTbf_ByteSignature_MatchesTc()
    {
        _ns.Netlink.QdiscAddTbf(_host, rateBytesPerSec: 1_250_000, burstBytes: 20_000, limitBytes: 50_000);

        var options = _ns.IpJsonTc("-raw qdisc show dev vhost root")[0].GetProperty("options");
        Assert.Equal(1_250_000, options.GetProperty("rate").GetInt64());
        Assert.Equal(20_000, options.GetProperty("burst").GetInt64());
        Assert.Equal(50_000, options.GetProperty("limit").GetInt64());
    }

    [Fact]
    public void IngressAndMirred_RedirectToIfb_TcShowsFilter()
    {
        _ns.Netlink.QdiscAddIngress(_host);
        _ns.Netlink.FilterAddMirredRedirectAll(_host, _ifb);

        Assert.Contains(_ns.Netlink.QdiscList(_host), q => q.Kind == "ingress" && q.Handle == TcHandle.IngressQdisc && q.Parent == TcHandle.Ingress);
        var text = _ns.Tc("filter show dev vhost parent ffff:");
        Assert.Contains("u32", text);
        Assert.Contains("flowid 1:1", text);
        Assert.Contains("Egress Redirect to device bwp0", text);
        Assert.Contains("match 00000000/00000000 at 0", text);
        var filter = Assert.Single(_ns.Netlink.FilterList(_host, TcHandle.IngressQdisc), f => f.RedirectIndex is not null);
        Assert.Equal(_ifb, filter.RedirectIndex);
        Assert.Equal("u32", filter.Kind);
        Assert.Equal(1, filter.Priority);
        Assert.Equal(3, filter.Protocol);
    }

    [Fact]
    public void QdiscDel_RemovesRootAndIngress()
    {
        _ns.Netlink.QdiscAddTbf(_host, TokenBucket.FromBits(8_000_000, 80_000));
        _ns.Netlink.QdiscAddIngress(_host);

        _ns.Netlink.QdiscDel(_host, TcHandle.Root);
        _ns.Netlink.QdiscDel(_host, TcHandle.Ingress);

        Assert.DoesNotContain(_ns.Netlink.QdiscList(_host), q => q.Kind is "tbf" or "ingress");
        var text = _ns.Tc("qdisc show dev vhost");
        Assert.DoesNotContain("tbf", text);
        Assert.DoesNotContain("ingress", text);
    }

    [Fact]
    public void QdiscAddIngress_Twice_ThrowsExists()
    {
        _ns.Netlink.QdiscAddIngress(_host);
        var error = Assert.Throws<NetlinkException>(() => _ns.Netlink.QdiscAddIngress(_host));
        Assert.True(error.IsExists);
    }
}

internal static class TcExtensions
{
    public static string Tc(this TestNamespace ns, string arguments) => Shell.Run("tc", $"-n {ns.Name} {arguments}");

    public static System.Text.Json.JsonElement IpJsonTc(this TestNamespace ns, string arguments)
        => System.Text.Json.JsonDocument.Parse(ns.Tc($"-j {arguments}")).RootElement;
}
