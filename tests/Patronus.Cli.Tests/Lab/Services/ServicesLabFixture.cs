using System.Net;
using System.Text.Json.Nodes;
using Patronus.Cli.Tests.Lab.Persistent;

namespace Patronus.Cli.Tests.Lab.Services;

/// <summary>
/// One lab of three clusters for multi-cluster services: aws-us-west-2 (gateway gw-1, node-2) and gcp-us-central1 (gw-1)
/// run the backends, onprem-dc1 (gw-1) the client, all in namespace shop; the three WAN links join each pair. Every
/// "web" pod answers TCP 8080 with its name (<see cref="NameServer"/>).
/// Services in aws and gcp: web and cart (exported from both), solo (exported from aws only), hidden (exported from
/// none), db (headless, exported from both; pods with hostnames), multi and mixed (their exports are the conflict
/// test's), and in gcp ext (ExternalName, exported). aws prefers its own endpoints (clusterSetPreferLocal); onprem, where
/// the other tests' client runs, exports nothing, so the preference changes nothing for it.
/// </summary>
public sealed class ServicesLabFixture : IAsyncLifetime
{
    public const string Aws = "aws-us-west-2";
    public const string Gcp = "gcp-us-central1";
    public const string Onprem = "onprem-dc1";
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-mcstest-").FullName;
    private readonly List<NameServer> _servers = [];

    internal LabCli Cli { get; } = new();

    public string Name { get; } = LabCli.NewName();

    public string Files => _files;

    public JsonNode Status { get; private set; } = null!;

    public JsonNode Cluster(string id) => Status["clusters"]!.AsArray().Single(c => (string?)c!["id"] == id)!;

    public JsonNode Node(string cluster, string name) => Cluster(cluster)["nodes"]!.AsArray().Single(n => (string?)n!["name"] == name)!;

    public JsonNode Pod(string cluster, string name) => Cluster(cluster)["pods"]!.AsArray().Single(p => (string?)p!["name"] == name)!;

    public string PodNetns(string cluster, string name) => (string)Pod(cluster, name)["netns"]!;

    public string PodAddress(string cluster, string name) => (string)Pod(cluster, name)["ips"]![0]!;

    public string ClientNetns => PodNetns(Onprem, "client");

    public string Socket(string cluster, string node = "gw-1") => (string)Node(cluster, node)["socket"]!;

    public string Dns(string cluster) => (string)Cluster(cluster)["dns"]!;

    /// <summary>The cluster's state, as its agents read it: one file per object.</summary>
    public string Manifests(string cluster) => Path.Combine(Cli.LabDirectory(Name), cluster, "manifests");

    private static string Backends(string pod, string node) => $$$"""
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
        - apiVersion: v1
          kind: Pod
          metadata: {name: {{{pod}}}, namespace: shop, labels: {app: web}}
          spec: {nodeName: {{{node}}}, containers: [{name: web, image: busybox}]}
        - apiVersion: v1
          kind: Pod
          metadata: {name: db-{{{pod}}}, namespace: shop, labels: {app: db}}
          spec: {nodeName: gw-1, hostname: db-{{{pod}}}, subdomain: db, containers: [{name: db, image: busybox}]}
        - {apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
        - {apiVersion: v1, kind: Service, metadata: {name: cart, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
        - {apiVersion: v1, kind: Service, metadata: {name: solo, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
        - {apiVersion: v1, kind: Service, metadata: {name: hidden, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
        - {apiVersion: v1, kind: Service, metadata: {name: db, namespace: shop}, spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}}
        - {apiVersion: multicluster.x-k8s.io/v1alpha1, kind: ServiceExport, metadata: {name: web, namespace: shop}}
        - {apiVersion: multicluster.x-k8s.io/v1alpha1, kind: ServiceExport, metadata: {name: cart, namespace: shop}}
        - {apiVersion: multicluster.x-k8s.io/v1alpha1, kind: ServiceExport, metadata: {name: db, namespace: shop}}
        """;

    public Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_files, "lab.yaml"), $"""
            clusters:
            - id: {Aws}
              podCIDR: 10.244.0.0/16
              serviceCIDR: 10.96.0.0/16
              nodes:
              - {"{"}name: gw-1, gateway: true{"}"}
              - {"{"}name: node-2{"}"}
              manifests: [aws.yaml]
              clusterSetPreferLocal: true
            - id: {Gcp}
              podCIDR: 10.248.0.0/16
              serviceCIDR: 10.97.0.0/16
              nodes:
              - {"{"}name: gw-1, gateway: true{"}"}
              manifests: [gcp.yaml]
            - id: {Onprem}
              podCIDR: 10.250.0.0/16
              serviceCIDR: 10.98.0.0/16
              nodes:
              - {"{"}name: gw-1, gateway: true{"}"}
              manifests: [onprem.yaml]
            wan:
            - {"{"}id: fiber, between: [{Aws}, {Gcp}], delay: 5ms{"}"}
            - {"{"}id: mpls, between: [{Aws}, {Onprem}], delay: 10ms{"}"}
            - {"{"}id: internet, between: [{Gcp}, {Onprem}], delay: 2ms{"}"}
            """);
        File.WriteAllText(Path.Combine(_files, "aws.yaml"), Backends("web-aws", "node-2") + """

            - {apiVersion: multicluster.x-k8s.io/v1alpha1, kind: ServiceExport, metadata: {name: solo, namespace: shop}}
            - {apiVersion: v1, kind: Service, metadata: {name: multi, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}, {name: metrics, port: 82, targetPort: 8080}]}}
            - {apiVersion: v1, kind: Service, metadata: {name: mixed, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
            """);
        File.WriteAllText(Path.Combine(_files, "gcp.yaml"), Backends("web-gcp", "gw-1") + """

            - {apiVersion: v1, kind: Service, metadata: {name: multi, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 8000, targetPort: 8080}, {name: admin, port: 81, targetPort: 8080}]}}
            - {apiVersion: v1, kind: Service, metadata: {name: mixed, namespace: shop}, spec: {clusterIP: None, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
            - {apiVersion: v1, kind: Service, metadata: {name: ext, namespace: shop}, spec: {type: ExternalName, externalName: example.com}}
            - {apiVersion: multicluster.x-k8s.io/v1alpha1, kind: ServiceExport, metadata: {name: ext, namespace: shop}}
            """);
        File.WriteAllText(Path.Combine(_files, "onprem.yaml"), """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
            - apiVersion: v1
              kind: Pod
              metadata: {name: client, namespace: shop, labels: {app: client}}
              spec: {nodeName: gw-1, containers: [{name: client, image: busybox}]}
            """);
        Cli.Must("up", "-f", Path.Combine(_files, "lab.yaml"), "--name", Name);
        Status = Cli.Status(Name);
        foreach (var (cluster, pod) in new[] { (Aws, "web-aws"), (Gcp, "web-gcp") })
            _servers.Add(new NameServer(PodNetns(cluster, pod), pod, 8080));
        return Task.CompletedTask;
    }

    /// <summary>`patronus mesh services -o json` of a node's agent.</summary>
    public JsonNode Services(string cluster, string node = "gw-1") =>
        JsonNode.Parse(Cli.Mesh("services", "--socket", Socket(cluster, node), "-o", "json"))!;

    /// <summary>The ServiceImport of shop/NAME as onprem's gateway programs it, or null.</summary>
    public JsonNode? Import(string name, string cluster = Onprem) =>
        Services(cluster)["imports"]!.AsArray().FirstOrDefault(i => (string?)i!["namespace"] == "shop" && (string?)i["name"] == name);

    public IPAddress Vip(string name, string cluster = Onprem) => IPAddress.Parse((string)Import(name, cluster)!["ips"]![0]!);

    /// <summary>Waits until <paramref name="done"/> holds, polling every 50 ms; how long it took, or null at the deadline.</summary>
    public static TimeSpan? Until(Func<bool> done, TimeSpan deadline)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            if (done())
                return clock.Elapsed;
            Thread.Sleep(50);
        }
        return done() ? clock.Elapsed : null;
    }

    public Task DisposeAsync()
    {
        foreach (var server in _servers)
            server.Dispose();
        Cli.Dispose();
        Directory.Delete(_files, recursive: true);
        return Task.CompletedTask;
    }
}

// Alone, after the other tests: its withdrawal bound (1 s) is a timing check, stretched beside other labs on two cores.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServicesLabCollection : ICollectionFixture<ServicesLabFixture>
{
    public const string Name = "multi-cluster services lab";
}
