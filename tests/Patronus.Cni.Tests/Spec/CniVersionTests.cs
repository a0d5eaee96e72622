using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Spec;

public class CniVersionTests
{
    [Theory]
    [InlineData("0.3.0", true, true, false, false)]
    [InlineData("0.3.1", true, true, false, false)]
    [InlineData("0.4.0", true, true, true, false)]
    [InlineData("1.0.0", true, false, true, false)]
    [InlineData("1.1.0", true, false, true, true)]
    [InlineData("0.2.0", false, true, false, false)]
    [InlineData("0.1.0", false, true, false, false)]
    [InlineData("2.0.0", false, false, true, true)]
    [InlineData("1.1", false, false, true, true)]
    public void Rules_PerVersion(string version, bool supported, bool ipVersion, bool check, bool gc)
    {
        Assert.Equal(supported, CniVersion.IsSupported(version));
        Assert.Equal(ipVersion, CniVersion.ResultHasIpVersion(version));
        Assert.Equal(check, CniVersion.HasCheck(version));
        Assert.Equal(gc, CniVersion.HasGcAndStatus(version));
    }

    [Theory]
    [InlineData(null, "cniVersion is missing")]
    [InlineData("", "cniVersion is missing")]
    [InlineData("0.2.0", "cniVersion \"0.2.0\" is not supported")]
    [InlineData("9.9.9", "cniVersion \"9.9.9\" is not supported")]
    public void Require_Unsupported_IsCode1(string? version, string message)
    {
        var e = Assert.Throws<CniException>(() => CniVersion.Require(version, "cniVersion"));
        Assert.Equal(CniErrorCode.IncompatibleVersion, e.Code);
        Assert.Contains(message, e.Message);
        Assert.Contains("1.1.0", e.Message);
    }
}
