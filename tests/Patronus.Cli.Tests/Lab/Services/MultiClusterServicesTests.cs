using System.Net;
using System.Text.Json.Nodes;
using Patronus.Cli.Tests.Lab.Persistent;
using Xunit.Abstractions;
using static Patronus.Cli.Tests.Lab.Services.ServicesLabFixture;

namespace Patronus.Cli.Tests.Lab.Services;

/// <summary>
/// Issue 11's proofs in a lab of three clusters: services exported from aws and gcp, used from a pod in onprem by their
/// clusterset.local names (real DNS queries with busybox nslookup) and ClusterSetIPs (real TCP connections).
/// </summary>
[Collection(ServicesLabCollection.Name)]
public sealed class MultiClusterServicesTests(ServicesLabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private LabCli Cli => lab.Cli;

    /// <summary>A ServiceExport manifest (block YAML: a file starting with '{' is read as JSON).</summary>
    private static string Export(string name) => $"apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata: {{name: {name}, namespace: shop}}\n";

    /// <summary>busybox nslookup from the client pod against onprem's clusterset.local server: its output.</summary>
    private string Lookup(string name, string type = "A") =>
        LabCli.InNamespace(lab.ClientNetns, "busybox", "nslookup", $"-type={type}", name, lab.Dns(Onprem)).Stdout;

    private static IEnumerable<string> Addresses(string nslookup) =>
        nslookup.Split('\n').SkipWhile(l => !l.StartsWith("Name:", StringComparison.Ordinal))
            .Where(l => l.StartsWith("Address:", StringComparison.Ordinal)).Select(l => l["Address:".Length..].Trim());

    /// <summary>Opens <paramref name="count"/> connections from the client pod to VIP:PORT: how many reached each pod (null: none answered).</summary>
    private async Task<Dictionary<string, int>> ConnectAsync(IPAddress vip, int port, int count, TimeSpan? timeout = null)
    {
        var reached = new Dictionary<string, int>();
        for (var i = 0; i < count; i++)
        {
            var name = await NameServer.AskAsync(lab.ClientNetns, new IPEndPoint(vip, port), timeout ?? TimeSpan.FromSeconds(5)) ?? "(none)";
            reached[name] = reached.GetValueOrDefault(name) + 1;
        }
        output.WriteLine($"{count} connections to {vip}:{port}: {string.Join(", ", reached.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value}"))}");
        return reached;
    }

    private bool ImportHas(string service, params string[] clusters) =>
        lab.Import(service) is { } import && import["clusters"]!.AsArray().Select(c => (string)c!["cluster"]!).Order().SequenceEqual(clusters.Order());

    [Fact]
    public async Task ExportedFromTwoClusters_ResolvesToTheClusterSetIp_AndConnectionsReachBoth()
    {
        Assert.NotNull(Until(() => ImportHas("web", Aws, Gcp) && lab.Import("web")!["clusters"]!.AsArray().All(c => c!["endpoints"]!.AsArray().Count == 1), Settle));
        var vip = lab.Vip("web");
        Assert.True(IPNetwork.Parse("10.112.0.0/16").Contains(vip), $"{vip} outside the ClusterSetIP range");

        Assert.Equal([vip.ToString()], Addresses(Lookup("web.shop.svc.clusterset.local")));
        Assert.Contains("service = 0 100 80 web.shop.svc.clusterset.local", Lookup("_http._tcp.web.shop.svc.clusterset.local", "SRV"));
        // cluster.local is not this server's zone: it refuses (CoreDNS answers it, locally), and never from another cluster.
        Assert.Contains("REFUSED", Lookup("web.shop.svc.cluster.local"));

        var reached = await ConnectAsync(vip, 80, 100);
        Assert.Equal(100, reached.GetValueOrDefault("web-aws") + reached.GetValueOrDefault("web-gcp"));
        Assert.True(reached.GetValueOrDefault("web-aws") > 0 && reached.GetValueOrDefault("web-gcp") > 0, "both clusters' pods should be reached");
    }

    [Fact]
    public void Headless_NamesEveryReadyEndpoint_AndEachPodByHostnameAndCluster()
    {
        Assert.NotNull(Until(() => ImportHas("db", Aws, Gcp) && lab.Import("db")!["clusters"]!.AsArray().All(c => c!["endpoints"]!.AsArray().Count == 1), Settle));
        var awsDb = lab.PodAddress(Aws, "db-web-aws");
        var gcpDb = lab.PodAddress(Gcp, "db-web-gcp");
        Assert.Equal("Headless", (string?)lab.Import("db")!["type"]);
        Assert.Empty(lab.Import("db")!["ips"]!.AsArray());

        Assert.Equal([awsDb, gcpDb], Addresses(Lookup("db.shop.svc.clusterset.local")).Order());
        Assert.Equal([awsDb], Addresses(Lookup($"db-web-aws.{Aws}.db.shop.svc.clusterset.local")));
        Assert.Equal([gcpDb], Addresses(Lookup($"db-web-gcp.{Gcp}.db.shop.svc.clusterset.local")));
        var srv = Lookup("_pg._tcp.db.shop.svc.clusterset.local", "SRV");
        Assert.Contains($"5432 db-web-aws.{Aws}.db.shop.svc.clusterset.local", srv);
        Assert.Contains($"5432 db-web-gcp.{Gcp}.db.shop.svc.clusterset.local", srv);
    }

    [Fact]
    public async Task ExportedFromOneOfTwo_UsesOnlyItsBackends_AndNotExported_IsUnreachableByName()
    {
        Assert.NotNull(Until(() => ImportHas("solo", Aws), Settle));
        var reached = await ConnectAsync(lab.Vip("solo"), 80, 20);
        Assert.Equal(20, reached.GetValueOrDefault("web-aws"));

        Assert.Null(lab.Import("hidden"));
        Assert.Contains("NXDOMAIN", Lookup("hidden.shop.svc.clusterset.local"));
        Assert.Null(lab.Import("hidden", Aws));
    }

    [Fact]
    public void Unexport_FromOne_ItsEndpointsLeaveWithin20s_FromBoth_TheImportAndNameGo()
    {
        Assert.NotNull(Until(() => ImportHas("cart", Aws, Gcp), Settle));
        var file = Path.Combine(lab.Files, "cart-export.yaml");
        File.WriteAllText(file, Export("cart"));
        try
        {
            Cli.Must("delete", "-f", file, "--name", lab.Name, "--cluster", Gcp);
            var left = Until(() => ImportHas("cart", Aws), TimeSpan.FromSeconds(20));
            output.WriteLine($"gcp's cart endpoints left onprem's import {left?.TotalSeconds:0.00} s after the unexport");
            Assert.NotNull(left);
            Assert.Single(Addresses(Lookup("cart.shop.svc.clusterset.local")));

            Cli.Must("delete", "-f", file, "--name", lab.Name, "--cluster", Aws);
            var gone = Until(() => lab.Import("cart") is null, TimeSpan.FromSeconds(20));
            output.WriteLine($"cart's import went {gone?.TotalSeconds:0.00} s after the last unexport");
            Assert.NotNull(gone);
            Assert.Contains("NXDOMAIN", Lookup("cart.shop.svc.clusterset.local"));
        }
        finally
        {
            Cli.Must("apply", "-f", file, "--name", lab.Name, "--cluster", Aws);
            Cli.Must("apply", "-f", file, "--name", lab.Name, "--cluster", Gcp);
        }
    }

    private JsonNode? Condition(string cluster, string service, string type) =>
        lab.Services(cluster)["exports"]!.AsArray().FirstOrDefault(e => (string?)e!["name"] == service)?["conditions"]!.AsArray().FirstOrDefault(c => (string?)c!["type"] == type);

    [Fact]
    public async Task Conflicts_FollowKep1645_OldestExportWins_AndAPortGoesOnlyToTheClustersExposingIt()
    {
        var multi = Path.Combine(lab.Files, "multi-export.yaml");
        File.WriteAllText(multi, Export("multi"));
        var mixed = Path.Combine(lab.Files, "mixed-export.yaml");
        File.WriteAllText(mixed, Export("mixed"));
        // gcp's export of multi is older (creationTimestamps have a resolution of one second), aws's of mixed is.
        Cli.Must("apply", "-f", multi, "--name", lab.Name, "--cluster", Gcp);
        Thread.Sleep(1100);
        Cli.Must("apply", "-f", multi, "--name", lab.Name, "--cluster", Aws);
        Cli.Must("apply", "-f", mixed, "--name", lab.Name, "--cluster", Aws);
        Thread.Sleep(1100);
        Cli.Must("apply", "-f", mixed, "--name", lab.Name, "--cluster", Gcp);

        Assert.NotNull(Until(() => ImportHas("multi", Aws, Gcp) && ImportHas("mixed", Aws, Gcp)
            && (string?)Condition(Aws, "multi", "Conflict")?["status"] == "True" && (string?)Condition(Gcp, "mixed", "Conflict")?["status"] == "True", Settle));

        // Ports: the union; aws's http 80 loses to gcp's older http 8000 (same name); metrics only aws has, admin only gcp.
        var import = lab.Import("multi")!;
        Assert.Equal(["http 8000/TCP", "admin 81/TCP", "metrics 82/TCP"], import["ports"]!.AsArray().Select(p => (string)p!));
        foreach (var cluster in new[] { Aws, Gcp })
        {
            Assert.Equal("PortConflict", (string?)Condition(cluster, "multi", "Conflict")!["reason"]);
            Assert.Equal("True", (string?)Condition(cluster, "multi", "Valid")!["status"]);
        }
        Assert.Contains(Gcp, (string)Condition(Aws, "multi", "Conflict")!["message"]!);
        var vip = lab.Vip("multi");
        Assert.Equal(10, (await ConnectAsync(vip, 8000, 10)).GetValueOrDefault("web-gcp"));
        Assert.Equal(10, (await ConnectAsync(vip, 81, 10)).GetValueOrDefault("web-gcp"));
        Assert.Equal(10, (await ConnectAsync(vip, 82, 10)).GetValueOrDefault("web-aws"));

        // Headless against ClusterSetIP: aws's older ClusterSetIP wins.
        Assert.Equal("ClusterSetIP", (string?)lab.Import("mixed")!["type"]);
        Assert.Equal("TypeConflict", (string?)Condition(Gcp, "mixed", "Conflict")!["reason"]);
        Assert.Equal("TypeConflict", (string?)Condition(Aws, "mixed", "Conflict")!["reason"]);

        // ExternalName cannot be exported.
        Assert.NotNull(Until(() => Condition(Gcp, "ext", "Valid") is not null, Settle));
        Assert.Equal("False", (string?)Condition(Gcp, "ext", "Valid")!["status"]);
        Assert.Equal("InvalidServiceType", (string?)Condition(Gcp, "ext", "Valid")!["reason"]);
        Assert.Null(lab.Import("ext"));
    }

    private bool Programmed(string netns, string address) =>
        LabCli.InNamespace(netns, "nft", "list", "table", "inet", "patronus-clusterset").Stdout.Contains(address, StringComparison.Ordinal);

    [Fact]
    public async Task WanDown_WithdrawsTheUnreachableClustersEndpointsWithin1s_AndConnectionsKeepSucceeding()
    {
        Assert.NotNull(Until(() => ImportHas("web", Aws, Gcp), Settle));
        var onpremGateway = (string)lab.Node(Onprem, "gw-1")["netns"]!;
        var gcpWeb = lab.PodAddress(Gcp, "web-gcp");
        Assert.NotNull(Until(() => Programmed(onpremGateway, gcpWeb), Settle));
        var vip = lab.Vip("web");
        try
        {
            // gcp loses both its links: onprem hears it no more (nor does aws).
            Cli.Must("wan", "fiber", "--name", lab.Name, "--down");
            var started = System.Diagnostics.Stopwatch.StartNew();
            Cli.Must("wan", "internet", "--name", lab.Name, "--down");
            var command = started.Elapsed;
            var withdrawn = Until(() => !Programmed(onpremGateway, gcpWeb), TimeSpan.FromSeconds(10));
            output.WriteLine($"gcp's endpoints withdrawn from onprem's datapath {withdrawn?.TotalMilliseconds:0} ms after `lab wan internet --down` returned (the command took {command.TotalMilliseconds:0} ms)");
            Assert.NotNull(withdrawn);
            Assert.True(withdrawn < TimeSpan.FromSeconds(1), $"withdrawn after {withdrawn?.TotalMilliseconds:0} ms");
            Assert.Equal(20, (await ConnectAsync(vip, 80, 20)).GetValueOrDefault("web-aws"));
        }
        finally
        {
            Cli.Must("wan", "internet", "--name", lab.Name, "--up");
            Cli.Must("wan", "fiber", "--name", lab.Name, "--up");
        }
        var back = Until(() => Programmed(onpremGateway, gcpWeb), Settle);
        output.WriteLine($"gcp's endpoints back {back?.TotalMilliseconds:0} ms after the links came up");
        Assert.NotNull(back);
        Assert.True((await ConnectAsync(vip, 80, 40)).GetValueOrDefault("web-gcp") > 0);
    }

    [Fact]
    public async Task NetworkPolicy_StillAppliesToImportedTraffic_OnTheReceivingSide()
    {
        Assert.NotNull(Until(() => ImportHas("web", Aws, Gcp), Settle));
        var policy = Path.Combine(lab.Files, "only-aws.yaml");
        File.WriteAllText(policy, """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web-from-aws-only, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: web}}
              policyTypes: [Ingress]
              ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16}}]}]
            """);
        Cli.Must("apply", "-f", policy, "--name", lab.Name, "--cluster", Gcp);
        try
        {
            var reached = await ConnectAsync(lab.Vip("web"), 80, 30, TimeSpan.FromSeconds(1));
            Assert.Equal(0, reached.GetValueOrDefault("web-gcp"));
            Assert.True(reached.GetValueOrDefault("web-aws") > 0, "aws's pod admits the client");
            Assert.True(reached.GetValueOrDefault("(none)") > 0, "connections sent to gcp's pod should be dropped by its policy");
        }
        finally
        {
            Cli.Must("delete", "-f", policy, "--name", lab.Name, "--cluster", Gcp);
        }
    }

    [Fact]
    public void LabStatus_GivesEachClustersDns_AndEachNodesAgentSocket_AndMeshServicesShowsATable()
    {
        foreach (var cluster in new[] { Aws, Gcp, Onprem })
        {
            Assert.True(IPAddress.TryParse(lab.Dns(cluster), out _));
            Assert.All(lab.Cluster(cluster)["nodes"]!.AsArray(), n => Assert.True(File.Exists((string)n!["socket"]!)));
        }
        Assert.NotNull(Until(() => ImportHas("web", Aws, Gcp), Settle));

        var table = Cli.Mesh("services", "--socket", lab.Socket(Aws));
        Assert.Contains("Cluster aws-us-west-2: gateway, the cluster's import writer", table);
        Assert.Contains("True (Exported)", table);
        Assert.Contains("shop/web", table);
        var node = lab.Services(Aws, "node-2");
        Assert.False((bool)node["writer"]!);
        Assert.Contains(node["imports"]!.AsArray(), i => (string?)i!["name"] == "web");
    }
}
