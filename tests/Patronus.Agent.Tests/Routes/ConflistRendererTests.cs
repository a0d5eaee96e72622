using System.Net;
using System.Text.Json.Nodes;
using Patronus.Agent.Routes;

namespace Patronus.Agent.Tests.Routes;

public class ConflistRendererTests
{
    private const string Template = """
        {"cniVersion":"1.0.0","name":"patronus-k8s","plugins":[
          {"type":"patronus-cni","bridge":"cni-bridge0",
           "ipam":{"type":"host-local","subnet":"10.244.0.0/16","gateway":"10.244.0.1","routes":[{"dst":"0.0.0.0/0"}]}},
          {"type":"portmap","capabilities":{"portMappings":true}}]}
        """;

    [Fact]
    public void NodeRanges_ReplaceTheTemplatesSingleRange()
    {
        var json = JsonNode.Parse(ConflistRenderer.Render(Template, [IPNetwork.Parse("10.244.3.0/24"), IPNetwork.Parse("fd00:10:244:3::/64")], mtu: 1450))!;
        var plugin = json["plugins"]![0]!;
        var ipam = plugin["ipam"]!;

        Assert.Equal("""[[{"subnet":"10.244.3.0/24"}],[{"subnet":"fd00:10:244:3::/64"}]]""", ipam["ranges"]!.ToJsonString());
        Assert.Null(ipam["subnet"]);
        Assert.Null(ipam["gateway"]);
        Assert.Equal("host-local", (string?)ipam["type"]);
        Assert.Equal("""[{"dst":"0.0.0.0/0"}]""", ipam["routes"]!.ToJsonString());
        Assert.Equal(1450, (int)plugin["mtu"]!);
        Assert.Equal("portmap", (string?)json["plugins"]![1]!["type"]);
    }

    [Fact]
    public void TemplateMtuBelowTheOverlays_IsKept()
    {
        var template = Template.Replace("\"bridge\":\"cni-bridge0\"", "\"bridge\":\"cni-bridge0\",\"mtu\":1400");
        var json = JsonNode.Parse(ConflistRenderer.Render(template, [IPNetwork.Parse("10.244.3.0/24")], mtu: 1450))!;

        Assert.Equal(1400, (int)json["plugins"]![0]!["mtu"]!);
    }

    [Fact]
    public void NoIpam_GetsTheBuiltInOne()
    {
        var json = JsonNode.Parse(ConflistRenderer.Render("""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"patronus-cni"}]}""", [IPNetwork.Parse("10.244.3.0/24")], null))!;

        Assert.Equal("patronus-ipam", (string?)json["plugins"]![0]!["ipam"]!["type"]);
        Assert.Null(json["plugins"]![0]!["mtu"]);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","type":"patronus-cni"}""", "'plugins'")]
    [InlineData("""{"plugins":[{"type":"bridge"}]}""", "patronus-cni")]
    [InlineData("""{"plugins":[{"type":"patronus-cni","ipam":"x"}]}""", "'ipam'")]
    public void BadTemplate_IsRefusedWithTheReason(string template, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => ConflistRenderer.Render(template, [IPNetwork.Parse("10.244.3.0/24")], null));
        Assert.Contains(expected, error.Message);
    }
}
