using System.Text;
using Patronus.Agent.Client.Protocol;

namespace Patronus.Agent.Tests.Client;

/// <summary>The "paths" op on the wire: pinned, because the CLI and the agent of different versions meet on it.</summary>
public class PathsProtocolTests
{
    private static readonly PathsStatus Status = new()
    {
        ClusterId = "aws", Node = "gw-1", Gateway = true, ProbeIntervalMs = 50,
        Paths =
        [
            new PathReport
            {
                Id = "fast", Remote = "gcp", RemoteGateway = "g1", Device = "pat-fast", State = "Up", Score = 92.5, LatencyMs = 10.25,
                JitterMs = 0.5, LossPercent = 0, CapacityMbps = 50, SpareMbps = 38, Failovers = 2, StateSinceSeconds = 12.5,
            },
            new PathReport { Id = "slow", Remote = "gcp", RemoteGateway = "g1", Device = "pat-slow", State = "Down", LossPercent = 100, StateSinceSeconds = 1 },
        ],
        Classes = [new PathChoiceReport { QosClass = "bulk", Remote = "gcp", Path = "fast", Reason = "most spare capacity" }, new PathChoiceReport { QosClass = "latency-sensitive", Remote = "gcp", Reason = "no path meets the SLA" }],
        Pods = [new PodPathReport { Namespace = "shop", Name = "checkout", Ips = ["10.244.1.5"], QosClass = "latency-sensitive", MaxLatencyMs = 20, Remote = "gcp", Path = "fast" }],
    };

    private const string StatusJson =
        """{"clusterId":"aws","node":"gw-1","gateway":true,"probeIntervalMs":50,"paths":[""" +
        """{"id":"fast","remote":"gcp","remoteGateway":"g1","device":"pat-fast","state":"Up","score":92.5,"latencyMs":10.25,"jitterMs":0.5,"lossPercent":0,"capacityMbps":50,"spareMbps":38,"failovers":2,"stateSinceSeconds":12.5},""" +
        """{"id":"slow","remote":"gcp","remoteGateway":"g1","device":"pat-slow","state":"Down","score":0,"lossPercent":100,"failovers":0,"stateSinceSeconds":1}],"classes":[""" +
        """{"qosClass":"bulk","remote":"gcp","path":"fast","reason":"most spare capacity"},{"qosClass":"latency-sensitive","remote":"gcp","reason":"no path meets the SLA"}],"pods":[""" +
        """{"namespace":"shop","name":"checkout","ips":["10.244.1.5"],"qosClass":"latency-sensitive","maxLatencyMs":20,"remote":"gcp","path":"fast"}]}""";

    [Fact]
    public void PathsRequest_IsTheOpAlone_AndDecodes()
    {
        var line = AgentProtocol.EncodeRequest(AgentRequest.QueryPaths());

        Assert.Equal("{\"op\":\"paths\"}\n"u8.ToArray(), line);
        Assert.Equal(AgentOps.Paths, AgentProtocol.DecodeRequest(line.AsSpan(0, line.Length - 1)).Op);
    }

    [Fact]
    public void PathsReply_EncodesAsPinnedCamelCaseJson()
    {
        var bytes = AgentProtocol.EncodeReply(new AgentReply { Ok = true, Paths = Status });

        Assert.Equal("{\"ok\":true,\"paths\":" + StatusJson + "}\n", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void PathsReply_RoundTrips()
    {
        var line = AgentProtocol.EncodeReply(new AgentReply { Ok = true, Paths = Status });

        var decoded = AgentProtocol.DecodeReply(line.AsSpan(0, line.Length - 1)).Paths!;

        // Records with arrays compare arrays by reference, so each part is compared by value.
        Assert.Equal(Status with { Paths = [], Classes = [], Pods = [] }, decoded with { Paths = [], Classes = [], Pods = [] });
        Assert.Equal(Status.Paths, decoded.Paths);
        Assert.Equal(Status.Classes, decoded.Classes);
        Assert.Equal(Status.Pods[0] with { Ips = [] }, decoded.Pods.Single() with { Ips = [] });
        Assert.Equal(Status.Pods[0].Ips, decoded.Pods[0].Ips);
    }

    [Fact]
    public void UnknownOp_ListsPathsAmongTheExpected()
    {
        var error = Assert.Throws<AgentProtocolException>(() => AgentProtocol.DecodeRequest("""{"op":"pathz"}"""u8));

        Assert.Contains("mesh-services or paths", error.Message);
    }
}
