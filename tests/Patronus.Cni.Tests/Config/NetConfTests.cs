using System.Net;
using System.Text;
using Patronus.Cni.Config;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Tests.Config;

public class NetConfTests
{
    private static NetConf Parse(string json) => NetConf.Parse(Encoding.UTF8.GetBytes(json));

    private const string Minimal = """{"cniVersion":"1.1.0","name":"n","type":"patronus-cni","ipam":{"type":"patronus-ipam"}}""";

    [Fact]
    public void Parse_Minimal_HasDefaults()
    {
        var c = Parse(Minimal);
        Assert.Equal("cni-bridge0", c.Bridge);
        Assert.False(c.IsGateway);
        Assert.Null(c.Mtu);
        Assert.True(c.Ipam!.IsBuiltIn);
        Assert.Null(c.Sdwan);
        Assert.Null(c.Runtime.Bandwidth);
    }

    [Fact]
    public void Parse_Full_ReadsEveryKeyAndIgnoresUnknownOnes()
    {
        var c = Parse("""
        {"cniVersion":"0.4.0","name":"pods","type":"patronus-cni","bridge":"br-x","isDefaultGateway":true,"mtu":1450,
         "hairpinMode":true,"futureKey":{"x":[1,2]},"ipam":{"type":"host-local","subnet":"10.1.0.0/16"},
         "dns":{"nameservers":["10.96.0.10"],"search":["a.b"]},
         "sdwan":{"database":"/var/lib/patronus/k8s-sdwan.db","cluster_id":"cluster-1","enable_policy_enforcement":true,"default_qos_class":"best-effort"},
         "runtimeConfig":{"bandwidth":{"ingressRate":1000000,"ingressBurst":80000,"egressRate":2000000,"egressBurst":160000},
           "ips":["10.1.0.9/16","fd00::9"],"mac":"0a:58:0a:01:00:09","io.kubernetes.cri.pod-annotations":{"patronus.io/qos-class":"latency-sensitive"},"portMappings":[]},
         "prevResult":{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.0.9/16"}]}}
        """);
        Assert.Equal("0.4.0", c.CniVersion);
        Assert.Equal("br-x", c.Bridge);
        Assert.True(c.IsGateway);
        Assert.True(c.IsDefaultGateway);
        Assert.Equal(1450, c.Mtu);
        Assert.True(c.HairpinMode);
        Assert.Equal("host-local", c.Ipam!.Type);
        Assert.Equal(["10.96.0.10"], c.Dns!.Nameservers);
        Assert.Equal(new SdwanConf("/var/lib/patronus/k8s-sdwan.db", "cluster-1", true, "best-effort"), c.Sdwan);
        Assert.Equal(new BandwidthLimits(1000000, 80000, 2000000, 160000), c.Runtime.Bandwidth);
        Assert.Equal([IPAddress.Parse("10.1.0.9"), IPAddress.Parse("fd00::9")], c.Runtime.Ips);
        Assert.Equal([0x0a, 0x58, 0x0a, 0x01, 0x00, 0x09], c.Runtime.Mac);
        Assert.Equal("latency-sensitive", c.Runtime.PodAnnotations["patronus.io/qos-class"]);
        Assert.Single(c.PrevResult!.Ips);
    }

    [Fact]
    public void Parse_IpMasqFalseAndVlanZero_AreAccepted()
    {
        var c = Parse("""{"cniVersion":"1.1.0","name":"n","type":"t","ipMasq":false,"vlan":0,"cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}]}""");
        Assert.Equal([("a", "eth0")], c.ValidAttachments);
    }

    [Theory]
    [InlineData("not json", CniErrorCode.DecodeFailure, "not valid JSON")]
    [InlineData("""{"cniVersion":"1.1.0",""", CniErrorCode.DecodeFailure, "not valid JSON")]
    [InlineData("[1]", CniErrorCode.DecodeFailure, "must be a JSON object")]
    [InlineData("""{"name":"n","type":"t"}""", CniErrorCode.IncompatibleVersion, "cniVersion is missing")]
    [InlineData("""{"cniVersion":"0.2.0","name":"n","type":"t"}""", CniErrorCode.IncompatibleVersion, "cniVersion \"0.2.0\" is not supported")]
    [InlineData("""{"cniVersion":1,"name":"n","type":"t"}""", CniErrorCode.DecodeFailure, "cniVersion must be a string, not a number")]
    [InlineData("""{"cniVersion":"1.1.0","type":"t"}""", CniErrorCode.InvalidNetworkConfig, "name is required")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n"}""", CniErrorCode.InvalidNetworkConfig, "type is required")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","bridge":"a-very-long-bridge-name"}""", CniErrorCode.InvalidNetworkConfig, "bridge \"a-very-long-bridge-name\" is 23 characters long")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","bridge":7}""", CniErrorCode.DecodeFailure, "bridge must be a string, not a number")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","mtu":"1500"}""", CniErrorCode.DecodeFailure, "mtu must be a number, not a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","mtu":100000}""", CniErrorCode.InvalidNetworkConfig, "mtu (100000) must be between 576 and 65535")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","mtu":-1}""", CniErrorCode.InvalidNetworkConfig, "mtu (-1) must be between")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","mtu":1500.5}""", CniErrorCode.InvalidNetworkConfig, "mtu (1500.5) must be a whole number")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","isGateway":"yes"}""", CniErrorCode.DecodeFailure, "isGateway must be a boolean, not a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","hairpinMode":true,"promiscMode":true}""", CniErrorCode.InvalidNetworkConfig, "hairpinMode and promiscMode cannot both be true")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","ipam":[]}""", CniErrorCode.DecodeFailure, "ipam must be an object, not an array")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","ipam":{}}""", CniErrorCode.InvalidNetworkConfig, "ipam.type is required")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","dns":{"nameservers":"8.8.8.8"}}""", CniErrorCode.DecodeFailure, "dns.nameservers must be an array, not a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","dns":{"search":[1]}}""", CniErrorCode.DecodeFailure, "dns.search[0] must be a string, not a number")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","sdwan":{"database":"rel.db"}}""", CniErrorCode.InvalidNetworkConfig, "sdwan.database (\"rel.db\") must be an absolute path")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","sdwan":{"cluster_id":"Bad_ID"}}""", CniErrorCode.InvalidNetworkConfig, "sdwan.cluster_id (\"Bad_ID\") must be")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","sdwan":{"enable_policy_enforcement":"yes"}}""", CniErrorCode.DecodeFailure, "sdwan.enable_policy_enforcement must be a boolean, not a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","sdwan":{"default_qos_class":""}}""", CniErrorCode.InvalidNetworkConfig, "sdwan.default_qos_class")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","sdwan":"on"}""", CniErrorCode.DecodeFailure, "sdwan must be an object, not a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"bandwidth":{"ingressRate":"1M"}}}""", CniErrorCode.DecodeFailure, "runtimeConfig.bandwidth.ingressRate must be a number, not a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"bandwidth":{"ingressRate":1000}}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.bandwidth.ingressBurst must be set when ingressRate is set")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"bandwidth":{"egressBurst":1000}}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.bandwidth.egressRate must be set when egressBurst is set")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"bandwidth":{"egressRate":-5,"egressBurst":1}}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.bandwidth.egressRate (-5) must not be negative")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"bandwidth":{"egressRate":5,"egressBurst":40000000000}}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.bandwidth.egressBurst (40000000000 bits) exceeds")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"ips":["10.0.0.1/40"]}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.ips[0] \"10.0.0.1/40\"")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"ips":["nope"]}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.ips[0] \"nope\" is not an IP address")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"mac":"zz:00:00:00:00:00"}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.mac \"zz:00:00:00:00:00\" is not a MAC address")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"mac":"01:00:5e:00:00:01"}}""", CniErrorCode.InvalidNetworkConfig, "runtimeConfig.mac \"01:00:5e:00:00:01\" is a multicast address")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"a":1}}}""", CniErrorCode.DecodeFailure, "runtimeConfig.io.kubernetes.cri.pod-annotations[\"a\"] must be a string")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","prevResult":{"ips":[{"address":"bad"}]}}""", CniErrorCode.InvalidNetworkConfig, "prevResult.ips[0].address \"bad\"")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","ipMasq":true}""", CniErrorCode.UnsupportedField, "ipMasq: masquerading is not supported")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","vlan":100}""", CniErrorCode.UnsupportedField, "vlan (100): VLAN tagging is not supported")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","sdwan":{"agent_socket":"agent.sock"}}""", CniErrorCode.InvalidNetworkConfig, "sdwan.agent_socket (\"agent.sock\") must be an absolute path")]
    [InlineData("""{"cniVersion":"1.1.0","name":"n","type":"t","cni.dev/valid-attachments":[{"containerID":"a"}]}""", CniErrorCode.InvalidNetworkConfig, "cni.dev/valid-attachments[0].ifname is required")]
    public void Parse_BadConfig_FailsWithCodeNamingTheField(string json, CniErrorCode code, string message)
    {
        var e = Assert.Throws<CniException>(() => Parse(json));
        Assert.Equal(code, e.Code);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData(1, 8000, 0, 0, "runtimeConfig.bandwidth.ingressRate (1) must be at least 8")]
    [InlineData(8000, 7, 0, 0, "runtimeConfig.bandwidth.ingressBurst (7) must be at least 8")]
    [InlineData(0, 0, 80_000_000_000, 8, "runtimeConfig.bandwidth.egressBurst (8 bits) drains in under a microsecond")]
    [InlineData(0, 0, 8, 8_000_000_000, "runtimeConfig.bandwidth.egressBurst (8000000000 bits) takes 1000000000 s")]
    public void Parse_BandwidthOutsideWhatTcCanShape_IsCode7(long ingressRate, long ingressBurst, long egressRate, long egressBurst, string message)
    {
        var member = $"\"runtimeConfig\":{{\"bandwidth\":{{\"ingressRate\":{ingressRate},\"ingressBurst\":{ingressBurst},\"egressRate\":{egressRate},\"egressBurst\":{egressBurst}}}}}";
        var error = Assert.Throws<CniException>(() => Parse(Minimal[..^1] + "," + member + "}"));
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, error.Code);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Parse_BandwidthAtTheEdgesTcTakes_IsAccepted()
    {
        // 1 byte/s with a 1-byte bucket (a second), and 1 byte per microsecond's worth of bucket.
        var c = Parse(Minimal[..^1] + ""","runtimeConfig":{"bandwidth":{"ingressRate":8,"ingressBurst":8,"egressRate":8000000,"egressBurst":8}}}""");
        Assert.Equal(8, c.Runtime.Bandwidth!.IngressRate);
    }

    [Theory]
    [InlineData("""["abc"]""", "dns.nameservers[0] \"abc\" is not an IP address")]
    [InlineData("""["10.0.0.1","10.0.0.0/8"]""", "dns.nameservers[1] \"10.0.0.0/8\" is not an IP address")]
    public void Parse_NameserverNotAnAddress_IsCode7(string nameservers, string message)
    {
        var error = Assert.Throws<CniException>(() => Parse(Minimal[..^1] + $$$""","dns":{"nameservers":{{{nameservers}}}}}"""));
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, error.Code);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Parse_ForRemoval_LeavesWhatOnlyAddUsesAtItsDefaults()
    {
        // An attachment made under an older, laxer plugin must still be removable: DEL reads only what it needs.
        var json = Minimal[..^1] + ""","bridge":"x%d","mtu":10,"dns":{"nameservers":["abc"]},"runtimeConfig":{"bandwidth":{"ingressRate":1,"ingressBurst":1}}}""";
        Assert.Throws<CniException>(() => Parse(json));
        var c = NetConf.Parse(Encoding.UTF8.GetBytes(json), forRemoval: true);
        Assert.Equal("cni-bridge0", c.Bridge);
        Assert.Null(c.Mtu);
        Assert.True(c.Ipam!.IsBuiltIn);
        var broken = Assert.Throws<CniException>(() => NetConf.Parse(Encoding.UTF8.GetBytes(Minimal.Replace("\"name\":\"n\",", "")), forRemoval: true));
        Assert.Contains("name is required", broken.Message);
    }
}
