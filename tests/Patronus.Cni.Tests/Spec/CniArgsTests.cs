using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Spec;

public class CniArgsTests
{
    [Theory]
    [InlineData(null, null, null, null, null)]
    [InlineData("", null, null, null, null)]
    [InlineData("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u1", "ns", "web", "abc", "u1")]
    [InlineData("K8S_POD_UID=u1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=ns", "ns", "web", null, "u1")]
    [InlineData("IgnoreUnknown=1;K8S_POD_NAME=web;FOO=bar", null, "web", null, null)]
    [InlineData("FOO=bar;IgnoreUnknown=true;K8S_POD_NAMESPACE=ns", "ns", null, null, null)]
    [InlineData("K8S_POD_NAME=a=b;;", null, "a=b", null, null)]
    [InlineData("K8S_POD_NAME=", null, "", null, null)]
    public void Parse_KnownKeysInAnyOrder_AreRead(string? raw, string? ns, string? name, string? infra, string? uid)
    {
        var args = CniArgs.Parse(raw);
        Assert.Equal(ns, args.PodNamespace);
        Assert.Equal(name, args.PodName);
        Assert.Equal(infra, args.PodInfraContainerId);
        Assert.Equal(uid, args.PodUid);
    }

    [Theory]
    [InlineData("FOO=bar", "unknown key \"FOO\"")]
    [InlineData("IgnoreUnknown=0;FOO=bar", "unknown key \"FOO\"")]
    [InlineData("IgnoreUnknown=false;K8S_POD_NAME=x;BAR=1", "unknown key \"BAR\"")]
    [InlineData("K8S_POD_NAME", "\"K8S_POD_NAME\" is not a KEY=VALUE pair")]
    [InlineData("=value", "\"=value\" is not a KEY=VALUE pair")]
    [InlineData("IgnoreUnknown=maybe", "IgnoreUnknown=\"maybe\" is not a boolean")]
    public void Parse_BadArgs_FailWithCode4NamingTheKey(string raw, string message)
    {
        var e = Assert.Throws<CniException>(() => CniArgs.Parse(raw));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains("CNI_ARGS", e.Message);
        Assert.Contains(message, e.Message);
    }
}
