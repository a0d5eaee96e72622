using System.Net;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;
using Patronus.Agent.Mesh;

namespace Patronus.Agent.Tests.Mesh;

/// <summary>The mesh's settings as patronus-config and the site's command line give them: read exactly, refused with the field named.</summary>
public sealed class MeshSettingsTests
{
    private static readonly string SetKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static AgentOptions Read(params (string Key, string Value)[] settings) =>
        AgentOptions.From(new ConfigurationBuilder().AddInMemoryCollection(settings.GroupBy(s => s.Key).Select(g => KeyValuePair.Create(g.Key, (string?)g.Last().Value))).Build());

    private static string Refused(params (string Key, string Value)[] settings) =>
        Assert.Throws<AgentOptionsException>(() => Read(settings)).Message;

    [Fact]
    public void WithoutAClusterId_TheMeshIsOff()
    {
        var options = Read();

        Assert.False(options.Mesh.Enabled);
        Assert.Null(options.Routes.GatewayLabel);
        Assert.Empty(options.Routes.RemoteCidrs);
    }

    [Fact]
    public void TheSeedsConfigMap_IsReadWhole()
    {
        const string remotes = """
            - id: "gcp-us-central1"
              endpoint: "35.232.10.20:51820"
              cidr: "10.248.0.0/16"
            - id: "onprem-dc1"
              endpoint: "203.0.113.10:51820"
              cidr: "10.250.0.0/16, 10.112.0.0/12"
            """;

        var options = Read(("clusterId", "aws-us-west-2"), ("clusterSetKey", SetKey), ("clusterCidr", "10.244.0.0/16"), ("serviceCidr", "10.96.0.0/12"), ("remoteClusters", remotes));

        var mesh = options.Mesh;
        Assert.True(mesh.Enabled);
        Assert.Equal("aws-us-west-2", mesh.MemberId);
        Assert.Equal(Convert.FromBase64String(SetKey), Assert.Single(mesh.SetKeys));
        Assert.Equal(["gcp-us-central1", "onprem-dc1"], mesh.RemoteClusters.Select(r => r.Id));
        Assert.Equal(IPEndPoint.Parse("203.0.113.10:51820"), mesh.RemoteClusters[1].Endpoint);
        Assert.Equal([IPNetwork.Parse("10.250.0.0/16"), IPNetwork.Parse("10.112.0.0/12")], mesh.RemoteClusters[1].Cidrs);
        // Every node routes them to a gateway, and never masquerades them.
        Assert.Equal(mesh.RemoteCidrs, options.Routes.RemoteCidrs);
        Assert.Equal("patronus.io/gateway", options.Routes.GatewayLabel);
        Assert.All(mesh.RemoteCidrs, c => Assert.Contains(c, options.Routes.NonMasqueradeCidrs));
        // Defaults as the seed gives them.
        Assert.Equal(51820, mesh.ListenPort);
        Assert.Equal(IPEndPoint.Parse("239.255.77.77:51821"), mesh.MulticastGroup);
        Assert.Equal("wg-sdwan", mesh.Interface);
        Assert.Equal(TimeSpan.FromHours(24), mesh.KeyRotation);
    }

    [Fact]
    public void RemoteClusters_AsJson_AreReadToo()
    {
        var options = Read(("clusterId", "a"), ("clusterSetKey", SetKey), ("remoteClusters", """[{"id":"b","endpoint":"198.18.1.3:51820","cidr":"10.248.0.0/16,10.97.0.0/16"}]"""));

        var remote = Assert.Single(options.Mesh.RemoteClusters);
        Assert.Equal("b", remote.Id);
        Assert.Equal(2, remote.Cidrs.Count);
    }

    [Fact]
    public void ASite_RunsNothingOfAClustersNode()
    {
        var options = Read(("siteName", "headquarters"), ("clusterSetKey", SetKey), ("meshInterface", "wg-hq"), ("listenPort", "51830"), ("multicastGroup", "none"));

        Assert.True(options.IsSite);
        Assert.Equal("site", options.Source);
        Assert.Equal("none", options.Datapath);
        Assert.False(options.Routes.Enabled);
        Assert.Equal("wg-hq", options.Mesh.Interface);
        Assert.Equal(51830, options.Mesh.ListenPort);
        Assert.Null(options.Mesh.MulticastGroup);
    }

    [Fact]
    public void Debug_IsLogLevelDebug()
    {
        Assert.Equal(["--site-name", "hq", "--log-level", "Debug"], AgentOptions.Normalize(["--site-name", "hq", "--debug"]));
    }

    [Theory]
    [InlineData("clusterId", "Not_A_Label", "clusterId")]
    [InlineData("clusterSetKey", "not base64!", "cluster-set-key")]
    [InlineData("clusterSetKey", "AAAA", "32 bytes")]
    [InlineData("meshInterface", "a-name-longer-than-15", "mesh-interface")]
    [InlineData("meshWireGuardGo", "sometimes", "mesh-wireguard-go")]
    [InlineData("listenPort", "70000", "listenPort")]
    [InlineData("meshDiscoveryPort", "0", "meshDiscoveryPort")]
    [InlineData("meshProbePort", "65536", "meshProbePort")]
    [InlineData("meshProbePort", "-1", "meshProbePort")]
    [InlineData("multicastGroup", "10.0.0.1:51821", "multicast-group")]
    [InlineData("meshEndpoints", "10.0.0.1", "mesh-endpoints")]
    [InlineData("keyRotationSeconds", "-5", "keyRotationSeconds")]
    [InlineData("announceIntervalSeconds", "0", "announceIntervalSeconds")]
    [InlineData("remoteClusters", "{not: a list}", "must be a list")]
    [InlineData("remoteClusters", "[", "not valid YAML")]
    [InlineData("remoteClusters", "- id: b\n  endpoint: 1.2.3.4:51820", "remote-clusters[0].cidr' is missing")]
    [InlineData("remoteClusters", "- id: b\n  endpoint: somewhere\n  cidr: 10.248.0.0/16", "remote-clusters[0].endpoint")]
    [InlineData("remoteClusters", "- id: b\n  endpoint: 1.2.3.4:51820\n  cidr: 10.248.0.1/16", "remote-clusters[0].cidr")]
    [InlineData("remoteClusters", "- id: B!\n  endpoint: 1.2.3.4:51820\n  cidr: 10.248.0.0/16", "remote-clusters[0].id")]
    [InlineData("remoteClusters", "- id: b\n  endpoint: 1.2.3.4:51820\n  cidr: 10.248.0.0/16\n- id: b\n  endpoint: 1.2.3.5:51820\n  cidr: 10.249.0.0/16", "listed twice")]
    [InlineData("remoteClusters", "- id: b\n  endpoint: 1.2.3.4:51820\n  cidr: 10.248.0.0/16\n- id: c\n  endpoint: 1.2.3.5:51820\n  cidr: 10.248.128.0/17", "overlaps 10.248.0.0/16 of 'b'")]
    [InlineData("remoteClusters", "- id: b\n  endpoint: 1.2.3.4:51820\n  cidr: 10.244.0.0/20", "overlaps this cluster's 10.244.0.0/16")]
    [InlineData("remoteClusters", "- id: a\n  endpoint: 1.2.3.4:51820\n  cidr: 10.250.0.0/16", "this cluster itself")]
    public void BadSettings_AreRefused_NamingTheField(string key, string value, string named)
    {
        var message = Refused(("clusterId", "a"), ("clusterSetKey", SetKey), ("clusterCidr", "10.244.0.0/16"), (key, value));

        Assert.Contains(named, message);
    }

    [Fact]
    public void AClusterIdAlone_NamesTheCluster_ButRunsNoMesh_WhileRemoteClustersWithoutATrustedKeyAreRefused()
    {
        Assert.False(Read(("clusterId", "a")).Mesh.Enabled);
        Assert.Contains("needs 'cluster-id' and 'cluster-set-key'", Refused(("clusterId", "a"), ("remoteClusters", "- {id: b, endpoint: '1.2.3.4:51820', cidr: 10.248.0.0/16}")));
        Assert.Contains("needs 'cluster-set-key'", Refused(("siteName", "a")));
    }

    [Fact]
    public void ASiteAndAClusterAtOnce_AreRefused()
    {
        Assert.Contains("exclude each other", Refused(("clusterId", "a"), ("siteName", "b"), ("clusterSetKey", SetKey)));
        Assert.Contains("a site has no Kubernetes", Refused(("siteName", "b"), ("clusterSetKey", SetKey), ("manifests", "/")));
    }
}
