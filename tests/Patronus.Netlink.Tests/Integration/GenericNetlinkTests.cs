namespace Patronus.Netlink.Tests.Integration;

/// <summary>The controller family against the real kernel, checked against `genl ctrl list`.</summary>
public sealed class GenericNetlinkTests : IDisposable
{
    private readonly TestNamespace _ns = new();
    private readonly GenericNetlink _genl;

    public GenericNetlinkTests()
    {
        try
        {
            _genl = GenericNetlink.OpenIn(_ns.Ns);
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _genl?.Dispose();
        _ns.Dispose();
    }

    [Fact]
    public void ResolveFamily_Controller_FixedIdAndNotifyGroup()
    {
        var nlctrl = _genl.ResolveFamily("nlctrl");

        Assert.Equal((ushort)0x10, nlctrl.Id);
        Assert.Equal("nlctrl", nlctrl.Name);
        Assert.True(nlctrl.Version >= 1);
        Assert.True(nlctrl.MulticastGroups.ContainsKey("notify"));
    }

    [Fact]
    public void FamilyList_AgreesWithGenlCtrlList()
    {
        var ours = _genl.FamilyList();
        var genl = _ns.Exec("genl ctrl list").Split('\n')
            .Where(l => l.StartsWith("Name: ", StringComparison.Ordinal))
            .Select(l => l["Name: ".Length..].Trim())
            .ToHashSet();

        Assert.Equal(genl, ours.Select(f => f.Name).ToHashSet());
        foreach (var family in ours)
        {
            Assert.Equal(family, _genl.ResolveFamily(family.Name) with { MulticastGroups = family.MulticastGroups });
            Assert.Equal(family.MulticastGroups.OrderBy(g => g.Key), _genl.ResolveFamily(family.Name).MulticastGroups.OrderBy(g => g.Key));
        }
    }

    [Fact]
    public void ResolveFamily_Unknown_FailsWithNotFoundNamingTheFamily()
    {
        var error = Assert.Throws<NetlinkException>(() => _genl.ResolveFamily("patronus-none"));

        Assert.True(error.IsNotFound);
        Assert.StartsWith("resolve generic netlink family \"patronus-none\": No such file or directory", error.Message);
        Assert.Null(_genl.TryResolveFamily("patronus-none"));
    }
}
