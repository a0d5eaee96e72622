using Patronus.Cni.Plumbing;

namespace Patronus.Cni.Tests.Spec;

public class HostVethNameTests
{
    [Fact]
    public void For_IsStableFifteenCharactersAndDiffersPerAttachment()
    {
        var a = HostVethName.For("c1", "eth0");
        Assert.Equal(a, HostVethName.For("c1", "eth0"));
        Assert.Equal(15, a.Length);
        Assert.StartsWith("pat", a);
        Assert.NotEqual(a, HostVethName.For("c1", "eth1"));
        Assert.NotEqual(a, HostVethName.For("c2", "eth0"));
        // "c1\neth0" vs "c\n1eth0": the separator keeps the two fields apart.
        Assert.NotEqual(HostVethName.For("c1", "eth0"), HostVethName.For("c", "1eth0"));
        Assert.Equal("pib" + a[3..], HostVethName.IfbFor("c1", "eth0"));
    }

    [Fact]
    public void For_PinnedValue_NeverChangesAcrossReleases()
    {
        // A changed hash would orphan every host veth made by the previous version: DEL and GC find them by name.
        Assert.Equal("pat19cc0bf7ab48", HostVethName.For("c1", "eth0"));
    }

    [Theory]
    [InlineData("pat0123456789ab", true)]
    [InlineData("pat0123456789aB", false)]
    [InlineData("pat0123456789a", false)]
    [InlineData("veth0123456789a", false)]
    [InlineData("patzzzzzzzzzzzz", false)]
    public void IsOurs_OnlyMatchesNamesThisPluginMakes(string name, bool ours) =>
        Assert.Equal(ours, HostVethName.IsOurs(name));
}
