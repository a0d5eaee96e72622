using System.Net;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Bench.Policy;

/// <summary>
/// A cluster shaped like a multi-team production one: 100 namespaces (kube-system, monitoring and 98 team
/// namespaces) of 50 pods each, 10 policies per namespace in the shapes teams write: default deny both ways,
/// DNS egress, same-namespace tiers on named ports, scraping from the monitoring namespace, cross-team access
/// by namespace and pod selector, expressions on env, egress to the internet except the cluster by ipBlock.
/// </summary>
internal sealed class SyntheticCluster
{
    public const int NamespaceCount = 100;
    public const int PodsPerNamespace = 50;
    public const int PoliciesPerNamespace = 10;

    private static readonly string[] Tiers = ["frontend", "backend", "db"];
    private static readonly string[] Envs = ["prod", "staging", "dev"];

    private readonly Random random = new(42);
    private int nextAddress;

    public List<Namespace> Namespaces { get; } = [];
    public List<Pod> Pods { get; } = [];
    public List<NetworkPolicy> Policies { get; } = [];

    public static string NamespaceName(int i) => i switch { 0 => "kube-system", 1 => "monitoring", _ => $"team-{i:D3}" };

    public SyntheticCluster()
    {
        for (var n = 0; n < NamespaceCount; n++)
        {
            var name = NamespaceName(n);
            Namespaces.Add(new Namespace(name, new Dictionary<string, string>
            {
                ["kubernetes.io/metadata.name"] = name,
                ["team"] = n switch { 0 => "platform", 1 => "monitoring", _ => $"t{n % 20}" },
                ["env"] = Envs[n % 3],
            }));
            for (var p = 0; p < PodsPerNamespace; p++)
                Pods.Add(NewPod(name, $"pod-{p:D3}", p));
            for (var k = 0; k < PoliciesPerNamespace; k++)
                Policies.Add(NewPolicy(n, name, k));
        }
    }

    public Pod NewPod(string ns, string name, int index)
    {
        var n = nextAddress++;
        var tier = Tiers[index % 3];
        var labels = new Dictionary<string, string>
        {
            ["app"] = $"app-{index % 10}",
            ["tier"] = tier,
            ["pod-template-hash"] = $"{random.Next():x}",
        };
        if (ns == "kube-system" && index < 2)
            labels["k8s-app"] = "kube-dns";
        ContainerPort[] ports = tier switch
        {
            "db" => [new("db", 5432, Protocol.Tcp), new("metrics", 9187, Protocol.Tcp)],
            _ => [new("http", 8080, Protocol.Tcp), new("metrics", 9090, Protocol.Tcp)],
        };
        if (labels.ContainsKey("k8s-app"))
            ports = [new("dns", 53, Protocol.Udp), new("dns-tcp", 53, Protocol.Tcp), new("metrics", 9153, Protocol.Tcp)];
        return new Pod(ns, name, labels, [IPAddress.Parse($"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")], ports);
    }

    private static LabelSelector Labels(params (string Key, string Value)[] pairs) =>
        new(pairs.ToDictionary(p => p.Key, p => p.Value), []);

    private static NetworkPolicy NewPolicy(int n, string ns, int k)
    {
        var app = $"app-{k}";
        var name = $"policy-{k}";
        var tcp = (int port) => new PolicyPort(Protocol.Tcp, port);
        var named = (string port) => new PolicyPort(Protocol.Tcp, Name: port);
        return k switch
        {
            0 => new NetworkPolicy(ns, "default-deny", LabelSelector.Everything, PolicyTypes.Ingress | PolicyTypes.Egress, [], []),
            1 => new NetworkPolicy(ns, "allow-dns", LabelSelector.Everything, PolicyTypes.Egress, [],
                [new PolicyRule([PolicyPeer.Namespaces(Labels(("kubernetes.io/metadata.name", "kube-system")), Labels(("k8s-app", "kube-dns")))],
                    [new PolicyPort(Protocol.Udp, 53), new PolicyPort(Protocol.Tcp, 53)])]),
            2 => new NetworkPolicy(ns, "allow-prometheus", LabelSelector.Everything, PolicyTypes.Ingress,
                [new PolicyRule([PolicyPeer.Namespaces(Labels(("team", "monitoring")))], [named("metrics")])], []),
            3 => new NetworkPolicy(ns, "frontend-from-anywhere", Labels(("tier", "frontend")), PolicyTypes.Ingress,
                [new PolicyRule([PolicyPeer.Namespaces(LabelSelector.Everything)], [named("http")])], []),
            4 => new NetworkPolicy(ns, "backend-from-frontend", Labels(("tier", "backend")), PolicyTypes.Ingress,
                [new PolicyRule([PolicyPeer.Pods(Labels(("tier", "frontend")))], [named("http")])], []),
            5 => new NetworkPolicy(ns, "db-from-backend", Labels(("tier", "db")), PolicyTypes.Ingress,
                [new PolicyRule([PolicyPeer.Pods(Labels(("tier", "backend")))], [tcp(5432)])], []),
            6 => new NetworkPolicy(ns, "egress-in-namespace", LabelSelector.Everything, PolicyTypes.Egress, [],
                [new PolicyRule([PolicyPeer.Pods(LabelSelector.Everything)], [named("http"), named("db")])]),
            7 => new NetworkPolicy(ns, $"{app}-from-team", Labels(("app", app)), PolicyTypes.Ingress,
                [new PolicyRule([PolicyPeer.Namespaces(Labels(("team", $"t{(n + 1) % 20}")), Labels(("app", $"app-{(n + 3) % 10}")))], [named("http")])], []),
            8 => new NetworkPolicy(ns, "egress-internet", Labels(("tier", "frontend")), PolicyTypes.Egress, [],
                [new PolicyRule([PolicyPeer.Block(new IpBlock(IPNetwork.Parse("0.0.0.0/0"), [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.168.0.0/16")]))],
                    [tcp(443), new PolicyPort(Protocol.Tcp, 30000, EndPort: 32767)])]),
            _ => new NetworkPolicy(ns, "backend-to-shared-prod", Labels(("tier", "backend")), PolicyTypes.Egress, [],
                [new PolicyRule([PolicyPeer.Namespaces(
                    new LabelSelector(new Dictionary<string, string>(), [new LabelRequirement("env", SelectorOperator.In, ["prod", "staging"])]),
                    Labels(("tier", "backend")))], [named("http")])]),
        };
    }
}
