using System.Net;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Tests.Support;

/// <summary>Random small clusters and policies drawn from vocabularies small enough that selectors often match.</summary>
internal sealed class RandomCluster(int seed)
{
    private static readonly string[] LabelKeys = ["app", "tier", "team"];
    private static readonly string[] LabelValues = ["web", "db", "red", "blue"];
    private static readonly ContainerPort[] PortChoices =
    [
        new("http", 80, Protocol.Tcp), new("http", 8080, Protocol.Tcp), new("dns", 53, Protocol.Udp),
        new("dns", 53, Protocol.Tcp), new(null, 443, Protocol.Tcp), new("web", 81, Protocol.Sctp), new("metrics", 81, Protocol.Udp),
    ];

    public static readonly (int Port, Protocol Protocol)[] Probes =
        [(80, Protocol.Tcp), (8080, Protocol.Tcp), (53, Protocol.Udp), (53, Protocol.Tcp), (443, Protocol.Tcp), (81, Protocol.Sctp), (81, Protocol.Udp), (79, Protocol.Tcp)];

    public static readonly IPAddress[] ExternalAddresses = [IPAddress.Parse("192.168.7.7"), IPAddress.Parse("10.0.9.9"), IPAddress.Parse("fd00::99")];

    private readonly Random random = new(seed);
    private int nextAddress;

    public List<string> NamespaceNames { get; } = [];

    public List<Namespace> Namespaces { get; } = [];

    public List<Pod> Pods { get; } = [];

    public List<NetworkPolicy> Policies { get; } = [];

    public RandomCluster Generate()
    {
        var count = random.Next(2, 5);
        for (var i = 0; i < count; i++)
            NamespaceNames.Add($"ns{i}");
        foreach (var name in NamespaceNames)
        {
            if (random.Next(4) > 0)
                Namespaces.Add(NewNamespace(name));
            var pods = random.Next(1, 5);
            for (var i = 0; i < pods; i++)
                Pods.Add(NewPod(name, $"p{i}"));
        }
        var policies = random.Next(0, 6);
        for (var i = 0; i < policies; i++)
            Policies.Add(NewPolicy($"pol{i}"));
        return this;
    }

    public Namespace NewNamespace(string name) => new(name, RandomLabels());

    public Pod NewPod(string ns, string name)
    {
        var n = ++nextAddress;
        var v4 = IPAddress.Parse($"10.0.{n / 200}.{n % 200 + 1}");
        var v6 = IPAddress.Parse($"fd00::{n:x}");
        IPAddress[] addresses = random.Next(10) switch
        {
            0 => [],
            1 => [v6],
            2 => [v4, v6],
            3 => [v6, v4],
            _ => [v4],
        };
        var ports = PortChoices.Where(_ => random.Next(3) == 0).ToArray();
        return new Pod(ns, name, RandomLabels(), addresses, ports);
    }

    public NetworkPolicy NewPolicy(string name)
    {
        var ns = Pick(NamespaceNames);
        var ingress = Enumerable.Range(0, random.Next(0, 3)).Select(_ => NewRule()).ToArray();
        var egress = Enumerable.Range(0, random.Next(0, 3)).Select(_ => NewRule()).ToArray();
        var types = random.Next(4) switch
        {
            0 => NetworkPolicy.DefaultTypes(egress),
            1 => PolicyTypes.Ingress,
            2 => PolicyTypes.Egress,
            _ => PolicyTypes.Ingress | PolicyTypes.Egress,
        };
        return new NetworkPolicy(ns, name, RandomSelector(), types, ingress, egress);
    }

    public Pod Relabel(Pod pod) => pod with { Labels = RandomLabels() };

    public Pod Readdress(Pod pod) => NewPod(pod.Namespace, pod.Name) with { Labels = pod.Labels };

    public T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public int Next(int max) => random.Next(max);

    private PolicyRule NewRule()
    {
        var peers = Enumerable.Range(0, random.Next(0, 3)).Select(_ => NewPeer()).ToArray();
        var ports = Enumerable.Range(0, random.Next(0, 3)).Select(_ => NewPort()).ToArray();
        return new PolicyRule(peers, ports);
    }

    private PolicyPeer NewPeer() => random.Next(5) switch
    {
        0 => PolicyPeer.Pods(RandomSelector()),
        1 => PolicyPeer.Namespaces(RandomSelector()),
        2 => PolicyPeer.Namespaces(RandomSelector(), RandomSelector()),
        3 => PolicyPeer.Block(random.Next(2) == 0
            ? new IpBlock(IPNetwork.Parse("10.0.0.0/24"), random.Next(2) == 0 ? [IPNetwork.Parse($"10.0.0.{random.Next(1, 12)}/32")] : [])
            : new IpBlock(IPNetwork.Parse("fd00::/112"), random.Next(2) == 0 ? [IPNetwork.Parse($"fd00::{random.Next(1, 12):x}/128")] : [])),
        _ => PolicyPeer.Block(new IpBlock(IPNetwork.Parse(random.Next(2) == 0 ? "0.0.0.0/0" : "192.168.0.0/16"), [])),
    };

    private PolicyPort NewPort()
    {
        var protocol = Pick([Protocol.Tcp, Protocol.Tcp, Protocol.Udp, Protocol.Sctp]);
        return random.Next(5) switch
        {
            0 => new PolicyPort(protocol),
            1 => new PolicyPort(protocol, Pick([53, 80, 81, 443, 8080])),
            2 => new PolicyPort(protocol, 79, EndPort: Pick([80, 81, 443])),
            _ => new PolicyPort(protocol, Name: Pick(["http", "dns", "web", "metrics", "none"])),
        };
    }

    private Dictionary<string, string> RandomLabels()
    {
        var labels = new Dictionary<string, string>();
        foreach (var key in LabelKeys)
            if (random.Next(2) == 0)
                labels[key] = Pick(LabelValues);
        return labels;
    }

    private LabelSelector RandomSelector()
    {
        var labels = new Dictionary<string, string>();
        var expressions = new List<LabelRequirement>();
        var terms = random.Next(0, 3);
        for (var i = 0; i < terms; i++)
        {
            var key = Pick(LabelKeys);
            switch (random.Next(5))
            {
                case 0:
                    labels[key] = Pick(LabelValues);
                    break;
                case 1:
                    expressions.Add(new LabelRequirement(key, SelectorOperator.In, [Pick(LabelValues), Pick(LabelValues)]));
                    break;
                case 2:
                    expressions.Add(new LabelRequirement(key, SelectorOperator.NotIn, [Pick(LabelValues)]));
                    break;
                case 3:
                    expressions.Add(new LabelRequirement(key, SelectorOperator.Exists, []));
                    break;
                default:
                    expressions.Add(new LabelRequirement(key, SelectorOperator.DoesNotExist, []));
                    break;
            }
        }
        if (random.Next(6) == 0)
            labels["kubernetes.io/metadata.name"] = Pick(NamespaceNames);
        return new LabelSelector(labels, expressions);
    }
}
