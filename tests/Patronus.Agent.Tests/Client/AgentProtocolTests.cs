using System.Text;
using Patronus.Agent.Client.Protocol;

namespace Patronus.Agent.Tests.Client;

public class AgentProtocolTests
{
    private static readonly EndpointRegistration Endpoint = new(
        "c0ffee", "eth0", "/var/run/netns/pod1", "default", "web-1", "uid-1",
        ["10.244.1.5/24", "fd00::5/64"], "0a:58:0a:f4:01:05", "veth1234");

    [Fact]
    public void RegisterRequest_EncodesAsOneCamelCaseJsonLine()
    {
        var bytes = AgentProtocol.EncodeRequest(AgentRequest.Register(Endpoint));

        var expected = """{"op":"register","endpoint":{"containerId":"c0ffee","ifName":"eth0","netns":"/var/run/netns/pod1","podNamespace":"default","podName":"web-1","podUid":"uid-1","addresses":["10.244.1.5/24","fd00::5/64"],"mac":"0a:58:0a:f4:01:05","hostInterface":"veth1234"}}""" + "\n";
        Assert.Equal(Encoding.UTF8.GetBytes(expected), bytes);
    }

    [Fact]
    public void UnregisterRequest_EncodesAsOneJsonLine()
    {
        var bytes = AgentProtocol.EncodeRequest(AgentRequest.Unregister(new EndpointRemoval("c0ffee", "eth0")));

        Assert.Equal(Encoding.UTF8.GetBytes("{\"op\":\"unregister\",\"removal\":{\"containerId\":\"c0ffee\",\"ifName\":\"eth0\"}}\n"), bytes);
    }

    [Fact]
    public void StatusRequest_IsTheOpAlone()
    {
        Assert.Equal("{\"op\":\"status\"}\n"u8.ToArray(), AgentProtocol.EncodeRequest(AgentRequest.QueryStatus()));
    }

    [Fact]
    public void FailureReply_CarriesTheMessageAndNoStatus()
    {
        Assert.Equal("{\"ok\":false,\"error\":\"boom\"}\n"u8.ToArray(), AgentProtocol.EncodeReply(AgentReply.Failure("boom")));
        Assert.Equal("{\"ok\":true}\n"u8.ToArray(), AgentProtocol.EncodeReply(AgentReply.Success()));
    }

    [Fact]
    public void RegisterRequest_RoundTrips()
    {
        var line = AgentProtocol.EncodeRequest(AgentRequest.Register(Endpoint));

        var decoded = AgentProtocol.DecodeRequest(line.AsSpan(0, line.Length - 1));

        Assert.Equal(AgentOps.Register, decoded.Op);
        Assert.Equal(Endpoint with { Addresses = decoded.Endpoint!.Addresses }, decoded.Endpoint);
        Assert.Equal(Endpoint.Addresses, decoded.Endpoint.Addresses);
    }

    [Fact]
    public void StatusReply_RoundTrips()
    {
        var status = new AgentStatus
        {
            NodeName = "node-a", Source = "manifests", Datapath = "none", Ready = true,
            Plugin = new PluginStatus { Path = "/opt/cni/bin/patronus-cni", Installed = true },
            Bridge = new BridgeStatus { Name = "cni-bridge0", Present = true, Addresses = ["10.244.0.1/16"] },
            Database = new DatabaseStatus { Path = "/var/lib/patronus/k8s-sdwan.db", Present = true },
            PodsManaged = 47, NetworkPolicies = 12,
        };
        var line = AgentProtocol.EncodeReply(AgentReply.Success(status));

        var decoded = AgentProtocol.DecodeReply(line.AsSpan(0, line.Length - 1)).Status!;

        Assert.Equal(47, decoded.PodsManaged);
        Assert.Equal(12, decoded.NetworkPolicies);
        Assert.Equal(["10.244.0.1/16"], decoded.Bridge.Addresses);
        Assert.True(decoded.Plugin.Installed);
        Assert.Empty(decoded.Tunnels);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"op\":\"frobnicate\"}", "field 'op' is 'frobnicate'")]
    [InlineData("{\"op\":\"register\"}", "field 'endpoint' is missing")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"ifName\":\"eth0\",\"podNamespace\":\"d\",\"podName\":\"p\",\"addresses\":[\"10.0.0.1/32\"]}}", "field 'endpoint.containerId'")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0\",\"podNamespace\":\"d\",\"podName\":\"p\",\"addresses\":[]}}", "field 'endpoint.addresses' is empty")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0\",\"podNamespace\":\"d\",\"podName\":\"p\",\"addresses\":[\"10.0.0.300/24\"]}}", "'10.0.0.300/24', which is not a CIDR")]
    [InlineData("{\"op\":\"unregister\",\"removal\":{\"containerId\":\"c\"}}", "field 'removal.ifName'")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0\",\"podNamespace\":\"d\",\"podName\":\"a b\",\"addresses\":[\"10.0.0.1/32\"]}}", "field 'endpoint.podName' is 'a b'")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0\",\"podNamespace\":\"D\",\"podName\":\"p\",\"addresses\":[\"10.0.0.1/32\"]}}", "field 'endpoint.podNamespace' is 'D'")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c d\",\"ifName\":\"eth0\",\"podNamespace\":\"d\",\"podName\":\"p\",\"addresses\":[\"10.0.0.1/32\"]}}", "field 'endpoint.containerId' is 'c d'")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0/x\",\"podNamespace\":\"d\",\"podName\":\"p\",\"addresses\":[\"10.0.0.1/32\"]}}", "field 'endpoint.ifName' is 'eth0/x'")]
    [InlineData("{\"op\":\"register\",\"endpoint\":{\"containerId\":\"c\",\"ifName\":\"eth0\",\"podNamespace\":\"d\",\"podName\":\"p\",\"addresses\":[null]}}", "'null', which is not a CIDR")]
    public void BadRequest_IsRefusedNamingTheField(string line, string expected)
    {
        var error = Assert.Throws<AgentProtocolException>(() => AgentProtocol.DecodeRequest(Encoding.UTF8.GetBytes(line)));

        Assert.Contains(expected, error.Message);
    }
}
