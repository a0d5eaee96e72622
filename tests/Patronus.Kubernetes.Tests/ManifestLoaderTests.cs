using Patronus.Kubernetes.Manifests;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;
using Patronus.Testing;

namespace Patronus.Kubernetes.Tests;

public class ManifestLoaderTests
{
    private const string Pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: a
          namespace: x
          labels: {pod: a}
        spec:
          containers:
          - name: web
            image: nginx
            ports:
            - {containerPort: 80, name: http}
            - {containerPort: 53, protocol: UDP}
        status:
          podIP: 10.0.1.1
          podIPs: [{ip: 10.0.1.1}, {ip: "fd00::1"}]
        """;

    private static ManifestModel Load(string text)
    {
        var set = new ManifestSet();
        ManifestLoader.LoadText(text, "test.yaml", set);
        return ManifestModel.From(set);
    }

    [Fact]
    public void SingleObject_IsMappedWithPortsAndAddresses()
    {
        var model = Load(Pod);
        Assert.Empty(model.Errors);
        var pod = Assert.Single(model.Pods);
        Assert.Equal(("x", "a"), (pod.Namespace, pod.Name));
        Assert.Equal("a", pod.Labels["pod"]);
        Assert.Equal(["10.0.1.1", "fd00::1"], pod.Addresses.Select(a => a.ToString()));
        Assert.Equal([new ContainerPort("http", 80, Protocol.Tcp), new ContainerPort(null, 53, Protocol.Udp)], pod.Ports);
    }

    [Fact]
    public void MultiDocument_WithOtherKinds_KeepsThePolicyKinds()
    {
        var model = Load($$$"""
            apiVersion: v1
            kind: Namespace
            metadata: {name: x, labels: {team: blue}}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: svc, namespace: x}
            ---
            {{{Pod}}}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny, namespace: x}
            spec: {podSelector: {}}
            ...
            """);
        Assert.Empty(model.Errors);
        Assert.Equal("blue", Assert.Single(model.Namespaces).Labels["team"]);
        Assert.Single(model.Pods);
        var policy = Assert.Single(model.Policies);
        Assert.Equal(PolicyTypes.Ingress, policy.Types);
        Assert.True(policy.PodSelector.IsEverything);
    }

    [Fact]
    public void KubectlList_ItemsAreRead()
    {
        var model = Load("""
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Namespace
              metadata: {name: x}
            - apiVersion: v1
              kind: Pod
              metadata: {name: b, namespace: x}
              status: {podIP: 10.0.1.2}
            metadata: {resourceVersion: ""}
            """);
        Assert.Empty(model.Errors);
        Assert.Single(model.Namespaces);
        Assert.Equal("10.0.1.2", Assert.Single(model.Pods).Addresses.Single().ToString());
    }

    [Fact]
    public void JsonList_AsKubectlPrintsIt()
    {
        var model = Load("""
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "p", "namespace": "y"},
               "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                                    "ports": [{"port": 5432}, {"port": "metrics", "protocol": "UDP"}, {"port": 8000, "endPort": 8080}]}]}},
              {"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "q", "namespace": "y"}, "status": {"podIP": "10.0.2.9"}}]}
            ]}
            """);
        Assert.Empty(model.Errors);
        var policy = Assert.Single(model.Policies);
        Assert.Equal(PolicyTypes.Ingress | PolicyTypes.Egress, policy.Types);
        var rule = Assert.Single(policy.Egress);
        var block = Assert.Single(rule.Peers).IpBlock!;
        Assert.Equal("10.0.0.0/8", block.Cidr.ToString());
        Assert.Equal("10.1.0.0/16", Assert.Single(block.Except).ToString());
        Assert.Equal([new PolicyPort(Protocol.Tcp, 5432), new PolicyPort(Protocol.Udp, Name: "metrics"), new PolicyPort(Protocol.Tcp, 8000, EndPort: 8080)], rule.Ports);
        Assert.Equal("q", Assert.Single(model.Pods).Name);
    }

    [Fact]
    public void BrokenDocument_IsReportedAndTheOthersKept()
    {
        var model = Load($$$"""
            {{{Pod}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: broken
              namespace: [x
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: y}
            """);
        var error = Assert.Single(model.Errors);
        Assert.StartsWith("test.yaml:", error.Source);
        Assert.Contains("not valid YAML", error.Message);
        Assert.Single(model.Pods);
        Assert.Single(model.Namespaces);
    }

    [Fact]
    public void WrongFieldType_NamesTheObjectAndField()
    {
        var model = Load("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: x}
            spec:
              containers:
              - name: c
                ports:
                - containerPort: [80]
            """);
        var error = Assert.Single(model.Errors);
        Assert.Equal(("Pod", "x", "p"), (error.Kind, error.Namespace, error.Name));
        Assert.Contains("containerPort", error.Field);
        Assert.Empty(model.Pods);
    }

    [Fact]
    public void MissingFile_IsAnErrorNamingIt()
    {
        var model = ManifestModel.Load(["/nonexistent/patronus-policy-test.yaml"]);
        var error = Assert.Single(model.Errors);
        Assert.Equal("/nonexistent/patronus-policy-test.yaml", error.Source);
        Assert.Contains("cannot read file", error.Message);
    }

    [Fact]
    public void Directory_LoadsItsManifestFiles()
    {
        var model = ManifestModel.Load([Path.Combine(Checkout.Root, "examples/policy")]);
        Assert.Empty(model.Errors);
        Assert.Equal(9, model.Pods.Count);
        Assert.Equal(4, model.Policies.Count);
    }

    [Fact]
    public void UpstreamExample_LoadsNinePodsAndThreeNamespaces()
    {
        var root = Checkout.Root;
        var model = ManifestModel.Load([Path.Combine(root, "examples/policy/upstream-cluster.yaml"), Path.Combine(root, "examples/policy/policies.yaml")]);
        Assert.Empty(model.Errors);
        Assert.Equal(3, model.Namespaces.Count);
        Assert.Equal(9, model.Pods.Count);
        Assert.Equal(4, model.Policies.Count);
        Assert.All(model.Pods, p => Assert.Equal(6, p.Ports.Count));
    }

    [Fact]
    public void HandWrittenPod_WithUnquotedQuantitiesAndTimestamps_Loads()
    {
        var model = Load("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              namespace: shop
              creationTimestamp: 2024-05-01T10:00:00Z
              annotations: {enabled: "true"}
            spec:
              terminationGracePeriodSeconds: 30
              containers:
              - name: web
                image: nginx
                resources:
                  limits: {cpu: 1, memory: 128Mi}
                  requests: {cpu: 0.5}
                livenessProbe: {httpGet: {port: 8080, path: /}}
                env: [{name: DEBUG, value: "1"}]
                ports: [{containerPort: 8080, name: http}]
            status: {podIP: 10.1.0.5, phase: Running}
            """);
        Assert.Empty(model.Errors);
        Assert.Equal("10.1.0.5", Assert.Single(model.Pods).Addresses.Single().ToString());
    }
}
