using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Spec;

public class CniEnvironmentTests
{
    private static Func<string, string?> Env(params string[] pairs)
    {
        var d = pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        return name => d.GetValueOrDefault(name);
    }

    [Theory]
    [InlineData("ADD", CniCommand.Add)]
    [InlineData("DEL", CniCommand.Del)]
    [InlineData("CHECK", CniCommand.Check)]
    [InlineData("GC", CniCommand.Gc)]
    [InlineData("STATUS", CniCommand.Status)]
    [InlineData("VERSION", CniCommand.Version)]
    public void Read_EachVerb_IsRecognised(string text, CniCommand command)
    {
        var env = CniEnvironment.Read(Env($"CNI_COMMAND={text}", "CNI_CONTAINERID=c1", "CNI_NETNS=/run/netns/x", "CNI_IFNAME=eth0", "CNI_PATH=/a:/b"));
        Assert.Equal(command, env.Command);
        Assert.Equal(["/a", "/b"], env.Path);
    }

    [Fact]
    public void Read_DelWithoutNetns_IsAllowed()
    {
        var env = CniEnvironment.Read(Env("CNI_COMMAND=DEL", "CNI_CONTAINERID=c1", "CNI_IFNAME=eth0"));
        Assert.Null(env.NetNs);
    }

    [Theory]
    [InlineData("CNI_COMMAND is not set")]
    [InlineData("CNI_COMMAND \"add\" is not one of", "CNI_COMMAND=add")]
    [InlineData("CNI_CONTAINERID is required for ADD", "CNI_COMMAND=ADD", "CNI_NETNS=/x", "CNI_IFNAME=eth0")]
    [InlineData("CNI_NETNS is required for ADD", "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0")]
    [InlineData("CNI_NETNS is required for CHECK", "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0")]
    [InlineData("CNI_IFNAME is required for DEL", "CNI_COMMAND=DEL", "CNI_CONTAINERID=c")]
    [InlineData("CNI_IFNAME \"eth0123456789abc\" is 16 characters long", "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x", "CNI_IFNAME=eth0123456789abc")]
    [InlineData("CNI_IFNAME \"a/b\" is not a valid interface name", "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x", "CNI_IFNAME=a/b")]
    [InlineData("CNI_IFNAME \"a b\" is not a valid interface name", "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x", "CNI_IFNAME=a b")]
    [InlineData("CNI_IFNAME \"..\" is not a valid interface name", "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x", "CNI_IFNAME=..")]
    [InlineData("CNI_CONTAINERID \"-abc\" may only hold", "CNI_COMMAND=ADD", "CNI_CONTAINERID=-abc", "CNI_NETNS=/x", "CNI_IFNAME=eth0")]
    [InlineData("CNI_CONTAINERID \"a;b\" may only hold", "CNI_COMMAND=DEL", "CNI_CONTAINERID=a;b", "CNI_IFNAME=eth0")]
    [InlineData("CNI_ARGS: unknown key \"X\"", "CNI_COMMAND=DEL", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0", "CNI_ARGS=X=1")]
    public void Read_BadEnvironment_FailsWithCode4NamingTheVariable(string message, params string[] pairs)
    {
        var e = Assert.Throws<CniException>(() => CniEnvironment.Read(Env(pairs)));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains(message, e.Message);
    }
}
