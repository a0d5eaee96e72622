namespace Patronus.Cni.Tests.Binary;

/// <summary>Malformed and hostile configs and environments, given to the published binary: each gets the spec's code and a message naming what is wrong.</summary>
public class BadInputTests : IDisposable
{
    private readonly string notANetns = System.IO.Path.GetTempFileName();

    public void Dispose() => File.Delete(notANetns);

    private const string Good = """{"cniVersion":"1.1.0","name":"pcni-bad","type":"patronus-cni","bridge":"pcnibr0","ipam":{"type":"patronus-ipam","ranges":[[{"subnet":"10.231.0.0/24"}]],"dataDir":"/tmp/pcni-bad-ipam"}}""";

    private static string With(string member) => Good[..^1] + "," + member + "}";

    public static TheoryData<string, string, string, int, string> Cases => new()
    {
        // name, environment (k=v|k=v), stdin, code, message fragment
        { "bad json", "ADD", "{not json", 6, "not valid JSON" },
        { "empty stdin", "ADD", "", 6, "not valid JSON" },
        { "json array", "ADD", "[]", 6, "must be a JSON object" },
        { "old version", "ADD", Good.Replace("1.1.0", "0.2.0"), 1, "cniVersion \"0.2.0\" is not supported" },
        { "version as number", "ADD", Good.Replace("\"1.1.0\"", "1.1"), 6, "cniVersion must be a string" },
        { "no name", "ADD", Good.Replace("\"name\":\"pcni-bad\",", ""), 7, "name is required" },
        { "mtu string", "ADD", With("\"mtu\":\"1500\""), 6, "mtu must be a number, not a string" },
        { "mtu absurd", "ADD", With("\"mtu\":10"), 7, "mtu (10) must be between 576 and 65535" },
        { "mtu huge", "ADD", With("\"mtu\":4294967296"), 7, "mtu (4294967296) is out of range" },
        { "isGateway wrong type", "ADD", With("\"isGateway\":1"), 6, "isGateway must be a boolean, not a number" },
        { "hairpin+promisc", "ADD", With("\"hairpinMode\":true,\"promiscMode\":true"), 7, "hairpinMode and promiscMode cannot both be true" },
        { "bridge name too long", "ADD", Good.Replace("pcnibr0", "pcni-bridge-with-long-name"), 7, "bridge \"pcni-bridge-with-long-name\" is 26 characters long" },
        { "ipam without type", "ADD", Good.Replace("\"type\":\"patronus-ipam\",", ""), 7, "ipam.type is required" },
        { "bandwidth rate without burst", "ADD", With("\"runtimeConfig\":{\"bandwidth\":{\"egressRate\":1000}}"), 7, "runtimeConfig.bandwidth.egressBurst must be set" },
        { "runtime mac multicast", "ADD", With("\"runtimeConfig\":{\"mac\":\"ff:ff:ff:ff:ff:ff\"}"), 7, "runtimeConfig.mac \"ff:ff:ff:ff:ff:ff\" is a multicast address" },
        { "sdwan database relative", "ADD", With("\"sdwan\":{\"database\":\"x.db\"}"), 7, "sdwan.database (\"x.db\") must be an absolute path" },
        { "delegated ipam not on path", "ADD|CNI_PATH=/nonexistent", Good.Replace("patronus-ipam", "pcni-no-such-ipam"), 7, "ipam.type: plugin \"pcni-no-such-ipam\" was not found in CNI_PATH" },
        { "delegated ipam as path", "ADD|CNI_PATH=/usr/lib/cni", Good.Replace("patronus-ipam", "../../bin/sh"), 7, "ipam.type \"../../bin/sh\" must be a plugin name" },
        { "delegated ipam without CNI_PATH", "ADD|CNI_PATH=", Good.Replace("patronus-ipam", "host-local"), 4, "CNI_PATH is not set" },
        { "ipMasq asked for", "ADD", With("\"ipMasq\":true"), 2, "ipMasq: masquerading is not supported" },
        { "gc: attachment without ifname", "GC", With("\"cni.dev/valid-attachments\":[{\"containerID\":\"x\"}]"), 7, "cni.dev/valid-attachments[0].ifname is required" },
        { "ipam: prefix too long", "ADD", Good.Replace("10.231.0.0/24", "10.231.0.0/33"), 7, "ipam.ranges[0][0].subnet: \"10.231.0.0/33\" is not a valid CIDR" },
        { "ipam: not a CIDR", "ADD", Good.Replace("10.231.0.0/24", "banana"), 7, "ipam.ranges[0][0].subnet: \"banana\" is not a valid CIDR" },
        { "ipam: gateway outside the subnet", "ADD", Good.Replace("\"subnet\":\"10.231.0.0/24\"", "\"subnet\":\"10.231.0.0/24\",\"gateway\":\"10.9.0.1\""), 7, "gateway: 10.9.0.1 is not inside subnet 10.231.0.0/24" },
        { "ipam: subnet of the wrong type", "ADD", Good.Replace("\"10.231.0.0/24\"", "24"), 6, "ipam.ranges[0][0].subnet" },
        { "ipam: no ranges", "ADD", Good.Replace("\"ranges\":[[{\"subnet\":\"10.231.0.0/24\"}]],", ""), 7, "no address range is configured" },
        { "no command", "|CNI_COMMAND=", Good, 4, "CNI_COMMAND is not set" },
        { "unknown command", "|CNI_COMMAND=FROB", Good, 4, "CNI_COMMAND \"FROB\" is not one of" },
        { "no container id", "ADD|CNI_CONTAINERID=", Good, 4, "CNI_CONTAINERID is required for ADD" },
        { "hostile container id", "ADD|CNI_CONTAINERID=../../etc", Good, 4, "CNI_CONTAINERID \"../../etc\" may only hold" },
        { "no ifname", "ADD|CNI_IFNAME=", Good, 4, "CNI_IFNAME is required for ADD" },
        { "ifname too long", "ADD|CNI_IFNAME=eth0123456789abcd", Good, 4, "CNI_IFNAME \"eth0123456789abcd\" is 17 characters long; Linux allows at most 15" },
        { "ifname with slash", "ADD|CNI_IFNAME=et/h0", Good, 4, "CNI_IFNAME \"et/h0\" is not a valid interface name" },
        { "no netns", "ADD|CNI_NETNS=", Good, 4, "CNI_NETNS is required for ADD" },
        { "netns missing", "ADD|CNI_NETNS=/var/run/netns/pcni-does-not-exist", Good, 4, "CNI_NETNS \"/var/run/netns/pcni-does-not-exist\" does not exist" },
        { "netns not a netns", "ADD|CNI_NETNS=@notns", Good, 4, "is not a network namespace" },
        { "netns is /proc self mnt ns", "ADD|CNI_NETNS=/proc/self/ns/mnt", Good, 4, "CNI_NETNS \"/proc/self/ns/mnt\" is not a network namespace" },
        { "check: netns not a netns", "CHECK|CNI_NETNS=@notns", Good, 4, "is not a network namespace" },
        { "bad CNI_ARGS", "ADD|CNI_ARGS=K8S_POD_NAME", Good, 4, "CNI_ARGS: \"K8S_POD_NAME\" is not a KEY=VALUE pair" },
        { "unknown CNI_ARGS", "ADD|CNI_ARGS=K8S_POD_NAME=a;EVIL=1", Good, 4, "CNI_ARGS: unknown key \"EVIL\"" },
        { "version: bad json", "VERSION", "{", 6, "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInput_GetsTheSpecCodeAndNamesTheField(string name, string environment, string stdin, int code, string message)
    {
        var parts = environment.Split('|');
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = parts[0],
            ["CNI_CONTAINERID"] = "pcni-bad-1",
            ["CNI_NETNS"] = "/proc/self/ns/net",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = "/usr/lib/cni",
        };
        foreach (var kv in parts.Skip(1))
        {
            var (k, v) = (kv[..kv.IndexOf('=')], kv[(kv.IndexOf('=') + 1)..]);
            env[k] = v == "@notns" ? notANetns : v;
        }

        var outcome = Plugin.Run(env, stdin);
        Assert.True(outcome.ExitCode != 0, $"{name}: expected failure, got {outcome}");
        Assert.True(code == outcome.ErrorCode, $"{name}: expected code {code}, got {outcome}");
        Assert.True(outcome.Message.Contains(message, StringComparison.Ordinal), $"{name}: expected \"{message}\" in {outcome}");
        Assert.DoesNotContain("   at ", outcome.Stdout + outcome.Stderr);
        MessageHygiene.AssertClean(outcome.Message + outcome.Stderr, $"{name}: the output");
    }

    [Theory]
    [InlineData("{\"cniVersion\":\"0.4.0\"}", "0.4.0")]
    [InlineData("{\"cniVersion\":\"9.9.9\"}", "1.1.0")]
    [InlineData("", "1.1.0")]
    public void Version_ListsEverySupportedVersion(string stdin, string answeredIn)
    {
        var outcome = Plugin.Run(new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, stdin);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(answeredIn, outcome.Json.GetProperty("cniVersion").GetString());
        Assert.Equal(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
            outcome.Json.GetProperty("supportedVersions").EnumerateArray().Select(v => v.GetString()));
    }
}
