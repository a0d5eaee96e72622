using Patronus.Agent.Mesh.Tunnel;

namespace Patronus.Agent.Tests.Mesh;

public sealed class MeshClampRendererTests
{
    [Fact]
    public void TheTable_ClampsSynsLeavingThroughTheTunnel_ForwardedAndLocal()
    {
        Assert.Equal(
            "table inet patronus_mesh {\n" +
            "\tchain forward {\n" +
            "\t\ttype filter hook forward priority mangle; policy accept;\n" +
            "\t\toifname \"wg-sdwan\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n" +
            "\t}\n" +
            "\tchain output {\n" +
            "\t\ttype filter hook output priority mangle; policy accept;\n" +
            "\t\toifname \"wg-sdwan\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n" +
            "\t}\n" +
            "}\n",
            MeshClampRenderer.Render(["wg-sdwan"]));
        Assert.Equal("table inet patronus_mesh\ndelete table inet patronus_mesh\n", MeshClampRenderer.RenderRemoval());
    }

    [Theory]
    [InlineData("wg\"; flush ruleset")]
    [InlineData("wg\\x")]
    [InlineData("")]
    [InlineData("a-name-longer-than-15")]
    public void NamesThatCouldLeaveTheirQuotes_AreRefused(string name)
    {
        Assert.Throws<ArgumentException>(() => MeshClampRenderer.Render([name]));
        Assert.Throws<ArgumentException>(() => MeshClampRenderer.Render(["wg-sdwan", name]));
    }

    [Fact]
    public void SeveralDevices_OneWANPathEach_AreClampedInOneSet()
    {
        var script = MeshClampRenderer.Render(["wg-sdwan", "wg-sdwan-1"]);
        Assert.Equal(2, script.Split("oifname { \"wg-sdwan\", \"wg-sdwan-1\" } tcp flags syn / syn,rst tcp option maxseg size set rt mtu").Length - 1);
    }
}
