using k8s;
using k8s.Models;
using Patronus.Kubernetes.Mapping;
using Patronus.Policy.Model;

namespace Patronus.Kubernetes.Tests;

public class PolicyModelMapperTests
{
    private static V1NetworkPolicy PolicyFromYaml(string spec) =>
        KubernetesYaml.Deserialize<V1NetworkPolicy>($"""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {"{"}name: p, namespace: x{"}"}
            spec:
            {string.Join('\n', spec.Split('\n').Select(l => "  " + l))}
            """);

    [Theory]
    [InlineData("podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}", "spec.podSelector.matchExpressions[0].operator", "unknown operator \"Equals\"")]
    [InlineData("podSelector: {matchExpressions: [{key: app, operator: In}]}", "spec.podSelector.matchExpressions[0].values", "must not be empty")]
    [InlineData("podSelector: {matchExpressions: [{key: app, operator: Exists, values: [a]}]}", "spec.podSelector.matchExpressions[0].values", "must be empty")]
    [InlineData("podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]", "spec.ingress[0].from[0].ipBlock.cidr", "not a valid CIDR")]
    [InlineData("podSelector: {}\ningress: [{from: [{ipBlock: {cidr: banana}}]}]", "spec.ingress[0].from[0].ipBlock.cidr", "\"banana\" is not a valid CIDR")]
    [InlineData("podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]", "spec.ingress[0].from[0].ipBlock.except[0]", "not inside the cidr")]
    [InlineData("podSelector: {}\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [\"fd00::/64\"]}}]}]", "spec.egress[0].to[0].ipBlock.except[0]", "not inside the cidr")]
    [InlineData("podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]", "spec.ingress[0].from[0]", "cannot be combined")]
    [InlineData("podSelector: {}\ningress: [{from: [{}]}]", "spec.ingress[0].from[0]", "must set podSelector")]
    [InlineData("podSelector: {}\ningress: [{ports: [{protocol: ICMP, port: 80}]}]", "spec.ingress[0].ports[0].protocol", "unknown protocol \"ICMP\"")]
    [InlineData("podSelector: {}\ningress: [{ports: [{port: 70000}]}]", "spec.ingress[0].ports[0].port", "not a port number")]
    [InlineData("podSelector: {}\ningress: [{ports: [{port: Not_A_Name}]}]", "spec.ingress[0].ports[0].port", "neither a port number nor a port name")]
    [InlineData("podSelector: {}\ningress: [{ports: [{port: http, endPort: 90}]}]", "spec.ingress[0].ports[0].endPort", "requires port to be a number")]
    [InlineData("podSelector: {}\ningress: [{ports: [{port: 90, endPort: 80}]}]", "spec.ingress[0].ports[0].endPort", "must be between")]
    [InlineData("podSelector: {}\npolicyTypes: [Ingress, Sideways]", "spec.policyTypes[1]", "unknown policy type")]
    [InlineData("podSelector: {}\nnamespaceSelector: {}\negress: [{to: [{namespaceSelector: {matchExpressions: [{key: a, operator: Bogus}]}}]}]", "spec.egress[0].to[0].namespaceSelector.matchExpressions[0].operator", "unknown operator")]
    public void InvalidPolicy_IsRejectedNamingTheField(string spec, string field, string message)
    {
        var result = PolicyModelMapper.ToPolicy(PolicyFromYaml(spec));
        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal(("NetworkPolicy", "x", "p"), (error.Kind, error.Namespace, error.Name));
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
        Assert.Contains($"NetworkPolicy x/p: {field}: ", error.ToString());
    }

    [Theory]
    [InlineData("podSelector: {}", PolicyTypes.Ingress)]
    [InlineData("podSelector: {}\negress: []", PolicyTypes.Ingress)]
    [InlineData("podSelector: {}\negress: [{}]", PolicyTypes.Ingress | PolicyTypes.Egress)]
    [InlineData("podSelector: {}\npolicyTypes: []\negress: [{}]", PolicyTypes.Ingress | PolicyTypes.Egress)]
    [InlineData("podSelector: {}\npolicyTypes: [Egress]", PolicyTypes.Egress)]
    [InlineData("podSelector: {}\npolicyTypes: [Ingress]\negress: [{}]", PolicyTypes.Ingress)]
    public void PolicyTypes_DefaultAsTheApiServerDoes(string spec, PolicyTypes expected)
    {
        var result = PolicyModelMapper.ToPolicy(PolicyFromYaml(spec));
        Assert.Equal(expected, result.Value!.Types);
    }

    [Fact]
    public void ValidPolicy_MapsEveryPart()
    {
        var result = PolicyModelMapper.ToPolicy(PolicyFromYaml("""
            podSelector: {matchLabels: {app: web}, matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}
            ingress:
            - from:
              - podSelector: {matchLabels: {role: client}}
              - namespaceSelector: {matchLabels: {team: blue}}
                podSelector: {}
              - ipBlock: {cidr: 10.0.0.1/24, except: [10.0.0.128/25]}
              ports: [{port: 80}, {port: serve-81-udp, protocol: UDP}, {protocol: SCTP}]
            - {}
            """));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var policy = result.Value!;
        Assert.Equal("app=web,tier notin (db)", policy.PodSelector.ToString());
        Assert.Equal(2, policy.Ingress.Count);
        var peers = policy.Ingress[0].Peers;
        Assert.Equal("role=client", peers[0].PodSelector!.ToString());
        Assert.Null(peers[0].NamespaceSelector);
        Assert.True(peers[1].PodSelector!.IsEverything);
        Assert.Equal("10.0.0.0/24", peers[2].IpBlock!.Cidr.ToString()); // host bits masked, as Go's ParseCIDR does
        Assert.Equal(["80/TCP", "serve-81-udp/UDP", "*/SCTP"], policy.Ingress[0].Ports.Select(p => p.ToString()));
        Assert.Empty(policy.Ingress[1].Peers);
        Assert.Empty(policy.Ingress[1].Ports);
    }

    [Fact]
    public void Pod_BadAddressAndProtocol_AreNamed()
    {
        var pod = KubernetesYaml.Deserialize<V1Pod>("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: x}
            spec:
              containers:
              - {name: c, ports: [{containerPort: 80, protocol: ICMP}]}
            status: {podIP: 10.0.0.300}
            """);
        var result = PolicyModelMapper.ToPod(pod);
        Assert.False(result.Succeeded);
        Assert.Equal(["spec.containers[0].ports[0].protocol", "status.podIP"], result.Errors.Select(e => e.Field).Order());
    }

    [Fact]
    public void Pod_WithoutNamespace_IsInDefault_AndFinishedPodsHaveNoAddress()
    {
        var pod = KubernetesYaml.Deserialize<V1Pod>("""
            apiVersion: v1
            kind: Pod
            metadata: {name: done}
            status: {phase: Succeeded, podIP: 10.0.0.3}
            """);
        var mapped = PolicyModelMapper.ToPod(pod).Value!;
        Assert.Equal("default", mapped.Namespace);
        Assert.Empty(mapped.Addresses);
    }

    [Fact]
    public void Namespace_KeepsLabels()
    {
        var ns = new V1Namespace { Metadata = new V1ObjectMeta { Name = "x", Labels = new Dictionary<string, string> { ["team"] = "blue" } } };
        Assert.Equal("blue", PolicyModelMapper.ToNamespace(ns).Value!.Labels["team"]);
        Assert.False(PolicyModelMapper.ToNamespace(new V1Namespace { Metadata = new V1ObjectMeta() }).Succeeded);
    }
}
