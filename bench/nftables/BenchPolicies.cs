using System.Net;
using Patronus.Policy.Compiled;

namespace Patronus.Bench.Nftables;

/// <summary>The compiled policies of the benchmark, built directly (no Kubernetes objects involved).</summary>
internal static class BenchPolicies
{
    public const int Count = 1000;

    public static EndpointPolicy Client(BenchLab lab) => Client(lab.ClientAddress);

    public static EndpointPolicy Client(IPAddress client) =>
        new(new EndpointId("bench", "client"), [client], DirectionPolicy.Open, DirectionPolicy.Open);

    public static EndpointPolicy Server(BenchLab lab, int lastRulePort) => Server(lab.ClientAddress, lab.ServerAddress, lastRulePort);

    /// <summary>
    /// The server isolated for ingress by <see cref="Count"/> policies of one rule each: 999 admit other peers
    /// (10.99.x.y/32) on other ports, only the last admits the client, on <paramref name="lastRulePort"/>.
    /// </summary>
    public static EndpointPolicy Server(IPAddress client, IPAddress server, int lastRulePort)
    {
        var rules = new List<AllowRule>();
        for (var i = 0; i < Count - 1; i++)
        {
            var peer = new IPAddress([10, 99, (byte)(i / 250), (byte)(i % 250 + 1)]);
            rules.Add(new AllowRule(new RuleOrigin("bench", $"policy-{i}", 0, 0),
                [new CidrMatch(new IPNetwork(peer, 32), [])],
                [new PortMatch(Protocol.Tcp, 10000 + i, 10000 + i), new PortMatch(Protocol.Udp, 20000 + i, 20000 + i)]));
        }
        rules.Add(new AllowRule(new RuleOrigin("bench", $"policy-{Count - 1}", 0, 0),
            [new CidrMatch(new IPNetwork(client, 32), [])],
            [new PortMatch(Protocol.Tcp, lastRulePort, lastRulePort), new PortMatch(Protocol.Udp, lastRulePort, lastRulePort)]));
        return new EndpointPolicy(
            new EndpointId("bench", "server"),
            [server],
            new DirectionPolicy(true, Enumerable.Range(0, Count).Select(i => $"bench/policy-{i}").ToList(), rules),
            DirectionPolicy.Open);
    }
}
