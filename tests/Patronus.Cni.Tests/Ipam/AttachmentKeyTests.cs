using Patronus.Cni.Ipam.Store;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Ipam;

public class AttachmentKeyTests
{
    [Theory]
    [InlineData("abc123", "eth0", "abc123:eth0")]
    [InlineData("a.b_c-d", "net1", "a.b_c-d:net1")]
    [InlineData("a:b", "eth0", "a%3Ab:eth0")]
    [InlineData("a", "b:eth0", "a:b%3Aeth0")]
    [InlineData("..", "eth0", "..:eth0")]
    [InlineData("x", "e/th#0", "x:e%2Fth%230")]
    [InlineData("x", "é", "x:%C3%A9")]
    public void FileName_EscapesEverythingOutsideTheSafeSet(string containerId, string ifName, string expected) =>
        Assert.Equal(expected, new AttachmentKey(containerId, ifName).FileName);

    [Fact]
    public void FileName_LongId_IsAHashOfTheRecord()
    {
        var name = new AttachmentKey(new string('a', 300), "eth0").FileName;
        Assert.Equal(7 + 64, name.Length);
        Assert.StartsWith("sha256-", name);
        Assert.NotEqual(name, new AttachmentKey(new string('a', 300), "eth1").FileName);
    }

    [Theory]
    [InlineData("", "eth0", "CNI_CONTAINERID")]
    [InlineData("a\nb", "eth0", "CNI_CONTAINERID")]
    [InlineData("abc", "", "CNI_IFNAME")]
    [InlineData("abc", "eth\n0", "CNI_IFNAME")]
    public void Constructor_EmptyOrControlCharacters_IsInvalidEnvironment(string containerId, string ifName, string field)
    {
        var error = Assert.Throws<CniException>(() => new AttachmentKey(containerId, ifName));
        Assert.Equal(CniErrorCode.InvalidEnvironment, error.Code);
        Assert.StartsWith(field + ": ", error.Message);
    }

    [Theory]
    [InlineData("10.0.0.5\nabc\neth0\n", "10.0.0.5", "abc", "eth0")]
    [InlineData("fd00::5\nabc\neth0\n", "fd00::5", "abc", "eth0")]
    [InlineData("10.0.0.5\nabc\neth0", null, null, null)]
    [InlineData("10.0.0.5\nabc\neth0\nextra\n", null, null, null)]
    [InlineData("10.0.0\nabc\neth0\n", null, null, null)]
    [InlineData("", null, null, null)]
    public void ClaimRecord_ParsesOnlyWholeRecords(string text, string? address, string? containerId, string? ifName)
    {
        var record = ClaimRecord.Parse(text);
        Assert.Equal(address, record?.Address.ToString());
        Assert.Equal(containerId, record?.Owner.ContainerId);
        Assert.Equal(ifName, record?.Owner.IfName);
        if (record is not null)
            Assert.Equal(text, record.Format());
    }
}
