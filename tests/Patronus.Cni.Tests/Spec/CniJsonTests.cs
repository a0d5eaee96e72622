using System.Net;
using System.Text;
using System.Text.Json;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Spec;

public class CniJsonTests
{
    private static CniResult Sample(string version) => new(
        version,
        [new CniInterface("cni0", "0a:00:00:00:00:01", null), new CniInterface("eth0", "0a:00:00:00:00:02", "/run/netns/p1", 1400)],
        [
            new CniIpConfig(IPAddress.Parse("10.22.0.5"), 24, IPAddress.Parse("10.22.0.1"), 1),
            new CniIpConfig(IPAddress.Parse("fd00:22::5"), 64, IPAddress.Parse("fd00:22::1"), 1),
        ],
        [new CniRoute(IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("10.22.0.1"))],
        new CniDns(["10.96.0.10"], "cluster.local", ["svc.cluster.local"], ["ndots:5"]));

    private static string Compact(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(doc.RootElement);
    }

    [Theory]
    [InlineData("0.3.1", """{"cniVersion":"0.3.1","interfaces":[{"name":"cni0","mac":"0a:00:00:00:00:01"},{"name":"eth0","mac":"0a:00:00:00:00:02","sandbox":"/run/netns/p1"}],"ips":[{"version":"4","interface":1,"address":"10.22.0.5/24","gateway":"10.22.0.1"},{"version":"6","interface":1,"address":"fd00:22::5/64","gateway":"fd00:22::1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.22.0.1"}],"dns":{"nameservers":["10.96.0.10"],"domain":"cluster.local","search":["svc.cluster.local"],"options":["ndots:5"]}}""")]
    [InlineData("0.4.0", """{"cniVersion":"0.4.0","interfaces":[{"name":"cni0","mac":"0a:00:00:00:00:01"},{"name":"eth0","mac":"0a:00:00:00:00:02","sandbox":"/run/netns/p1"}],"ips":[{"version":"4","interface":1,"address":"10.22.0.5/24","gateway":"10.22.0.1"},{"version":"6","interface":1,"address":"fd00:22::5/64","gateway":"fd00:22::1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.22.0.1"}],"dns":{"nameservers":["10.96.0.10"],"domain":"cluster.local","search":["svc.cluster.local"],"options":["ndots:5"]}}""")]
    [InlineData("1.0.0", """{"cniVersion":"1.0.0","interfaces":[{"name":"cni0","mac":"0a:00:00:00:00:01"},{"name":"eth0","mac":"0a:00:00:00:00:02","mtu":1400,"sandbox":"/run/netns/p1"}],"ips":[{"interface":1,"address":"10.22.0.5/24","gateway":"10.22.0.1"},{"interface":1,"address":"fd00:22::5/64","gateway":"fd00:22::1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.22.0.1"}],"dns":{"nameservers":["10.96.0.10"],"domain":"cluster.local","search":["svc.cluster.local"],"options":["ndots:5"]}}""")]
    [InlineData("1.1.0", """{"cniVersion":"1.1.0","interfaces":[{"name":"cni0","mac":"0a:00:00:00:00:01"},{"name":"eth0","mac":"0a:00:00:00:00:02","mtu":1400,"sandbox":"/run/netns/p1"}],"ips":[{"interface":1,"address":"10.22.0.5/24","gateway":"10.22.0.1"},{"interface":1,"address":"fd00:22::5/64","gateway":"fd00:22::1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.22.0.1"}],"dns":{"nameservers":["10.96.0.10"],"domain":"cluster.local","search":["svc.cluster.local"],"options":["ndots:5"]}}""")]
    public void WriteResult_PerVersion_HasThatVersionsShape(string version, string expected)
    {
        Assert.Equal(expected, Compact(CniJson.WriteResult(Sample(version))));
    }

    [Theory]
    [InlineData("0.3.1")]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void ReadResult_RoundTripsWhatWasWritten(string version)
    {
        using var doc = JsonDocument.Parse(CniJson.WriteResult(Sample(version)));
        var read = CniJson.ReadResult(doc.RootElement, "prevResult", "1.1.0");
        Assert.Equal(version, read.CniVersion);
        Assert.Equal(Sample(version).Ips, read.Ips);
        Assert.Equal(Sample(version).Routes, read.Routes);
        Assert.Equal(["cni0", "eth0"], read.Interfaces.Select(i => i.Name));
        Assert.Equal("cluster.local", read.Dns!.Domain);
    }

    [Fact]
    public void ReadResult_HostLocal031Output_IsUnderstood()
    {
        // What Debian's host-local prints for a 0.3.1 config.
        var json = """{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.88.0.2/16","gateway":"10.88.0.1"}],"dns":{}}""";
        using var doc = JsonDocument.Parse(json);
        var r = CniJson.ReadResult(doc.RootElement, "x", "1.1.0");
        Assert.Equal(new CniIpConfig(IPAddress.Parse("10.88.0.2"), 16, IPAddress.Parse("10.88.0.1"), null), Assert.Single(r.Ips));
        Assert.Empty(r.Routes);
    }

    [Theory]
    [InlineData("""{"ips":[{"address":"10.0.0.300/24"}]}""", "prevResult.ips[0].address \"10.0.0.300/24\" is not an address")]
    [InlineData("""{"ips":[{"address":"10.0.0.3"}]}""", "prevResult.ips[0].address \"10.0.0.3\" is not an address with a prefix")]
    [InlineData("""{"ips":[{"address":"10.0.0.3/33"}]}""", "prevResult.ips[0].address")]
    [InlineData("""{"ips":[{"address":"10.0.0.3/24","gateway":"x"}]}""", "prevResult.ips[0].gateway \"x\" is not an IP address")]
    [InlineData("""{"ips":[{}]}""", "prevResult.ips[0].address is required")]
    [InlineData("""{"ips":{}}""", "prevResult.ips must be an array, not an object")]
    [InlineData("""{"routes":[{"dst":"10.0.0.1/8"}]}""", "prevResult.routes[0].dst \"10.0.0.1/8\" has host bits set; did you mean 10.0.0.0/8?")]
    [InlineData("""{"interfaces":[{"name":5}]}""", "prevResult.interfaces[0].name must be a string, not a number")]
    [InlineData("""[]""", "prevResult must be an object, not an array")]
    public void ReadResult_Malformed_NamesTheField(string json, string message)
    {
        using var doc = JsonDocument.Parse(json);
        var e = Assert.Throws<CniException>(() => CniJson.ReadResult(doc.RootElement, "prevResult", "1.1.0"));
        Assert.Equal(message.Contains(" must be a") ? CniErrorCode.DecodeFailure : CniErrorCode.InvalidNetworkConfig, e.Code);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void WriteError_HasSpecShape()
    {
        var json = Encoding.UTF8.GetString(CniJson.WriteError("1.0.0", CniErrorCode.InvalidNetworkConfig, "mtu bad", "d"));
        Assert.Equal("""{"cniVersion":"1.0.0","code":7,"msg":"mtu bad","details":"d"}""", Compact(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', 0xff, (byte)'"', (byte)':', (byte)'1', (byte)'}' }, "is not valid UTF-8 (byte 3 ")]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xc3, (byte)'"', (byte)':', (byte)'1', (byte)'}' }, "is not valid UTF-8 (byte 2 ")]
    [InlineData(new byte[] { (byte)'{', (byte)'x' }, "is not valid JSON, or nests deeper than 64 levels (line 1, byte 2)")]
    public void ParseDocument_NotUtf8OrNotJson_IsCode6WithWhere(byte[] input, string message)
    {
        var error = Assert.Throws<CniException>(() => CniJson.ParseDocument(input, "stdin"));
        Assert.Equal(CniErrorCode.DecodeFailure, error.Code);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("""{"a":{"b":["x","\ud800"]}}""", "a.b[1] holds an escaped unpaired surrogate")]
    [InlineData("""{"a":{"\udc00":1}}""", "a: a key holds an escaped unpaired surrogate")]
    [InlineData("""["\ud800"]""", "[0] holds an escaped unpaired surrogate")]
    public void ParseDocument_UnpairedSurrogateEscape_IsCode6NamingThePath(string json, string message)
    {
        var error = Assert.Throws<CniException>(() => CniJson.ParseDocument(Encoding.UTF8.GetBytes(json), "stdin"));
        Assert.Equal(CniErrorCode.DecodeFailure, error.Code);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void ParseDocument_PairedSurrogateEscapeAndDeepNesting_AreFine()
    {
        using var pair = CniJson.ParseDocument(Encoding.UTF8.GetBytes("""{"a":"\ud83d\ude00"}"""), "stdin");
        Assert.Equal("😀", pair.RootElement.GetProperty("a").GetString());
        using var deep = CniJson.ParseDocument(Encoding.UTF8.GetBytes(new string('[', 64) + new string(']', 64)), "stdin");
        Assert.Throws<CniException>(() => CniJson.ParseDocument(Encoding.UTF8.GetBytes(new string('[', 65) + new string(']', 65)), "stdin"));
    }
}
