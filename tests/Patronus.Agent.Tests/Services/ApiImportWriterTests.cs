using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Patronus.Agent.Services.ClusterSetIp;
using Patronus.Agent.Services.Exports;
using Patronus.Agent.Services.Import;
using Patronus.Agent.Services.Model;
using Patronus.Agent.Services.Writing;
using Patronus.Kubernetes.Kinds.Multicluster;
using Patronus.Kubernetes.Tests.Informers;
using Patronus.Testing;
using Xunit.Abstractions;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>
/// The API-server import writer, its Lease leader election and the ServiceExport status writer against an API server
/// speaking the real wire format (the fake one: REST verbs, resourceVersions and 409s, the MCS CRDs' status
/// subresource, watch events for every write).
/// </summary>
public sealed class ApiImportWriterTests : IDisposable
{
    private static readonly ClusterSetIpAllocator Allocator = ClusterSetIpAllocator.Parse("10.112.0.0/16");
    private readonly FakeApiServer _server = new();

    private readonly ITestOutputHelper _output;
    private readonly k8s.Kubernetes _client;

    public ApiImportWriterTests(ITestOutputHelper output)
    {
        _output = output;
        Imports.StatusSubresource = true;
        Exports.StatusSubresource = true;
        _ = Slices;
        _ = Leases;
        _client = Client();
    }

    private k8s.Kubernetes Client() => new(new KubernetesClientConfiguration { Host = _server.BaseUri.ToString().TrimEnd('/') });

    private FakeCollection Imports => _server.Collection("apis/multicluster.x-k8s.io/v1alpha1/serviceimports", "ServiceImportList", "multicluster.x-k8s.io/v1alpha1");

    private FakeCollection Exports => _server.Collection("apis/multicluster.x-k8s.io/v1alpha1/serviceexports", "ServiceExportList", "multicluster.x-k8s.io/v1alpha1");

    private FakeCollection Slices => _server.Collection("apis/discovery.k8s.io/v1/endpointslices", "EndpointSliceList", "discovery.k8s.io/v1");

    private FakeCollection Leases => _server.Collection("apis/coordination.k8s.io/v1/leases", "LeaseList", "coordination.k8s.io/v1");

    private static IReadOnlySet<string> All(ServiceKey _) => new HashSet<string> { "aws", "gcp", "onprem" };

    private static List<T> Typed<T>(FakeCollection collection) => collection.Items().Select(o => KubernetesJson.Deserialize<T>(o.ToJsonString())).ToList();

    /// <summary>One pass of the cluster's writer: the plan from what the server holds, applied.</summary>
    private async Task<ImportPlan> PassAsync(IImportWriter writer, params ClusterExport[] exports)
    {
        var plan = ImportPlan.Make(exports, _ => true, _ => true, Typed<V1Alpha1ServiceImport>(Imports), Typed<V1EndpointSlice>(Slices), Allocator, All);
        await writer.ApplyAsync(plan, CancellationToken.None);
        return plan;
    }

    private JsonObject SliceOf(string cluster) => Slices.Items().Single(s => (string?)s["metadata"]!["labels"]![ImportedObjects.SourceClusterLabel] == cluster);

    private static ClusterExport Aws(params string[] addresses) => Export("aws", 1, ports: [Port("http", 80, target: 8080)], endpoints: addresses.Select(a => Endpoint(a)).ToArray());

    private static ClusterExport Gcp(params string[] addresses) => Export("gcp", 2, ports: [Port("http", 80, target: 9090)], endpoints: addresses.Select(a => Endpoint(a)).ToArray());

    [Fact]
    public async Task Writer_CreatesTheImportAndASlicePerSourceCluster_UpdatesWhatChanges_AndRemovesWithTheExports()
    {
        var writer = new ApiImportWriter(_client);
        await PassAsync(writer, Aws("10.244.1.2", "10.244.1.3"), Gcp("10.248.0.2"));

        var import = Assert.Single(Imports.Items());
        Assert.Equal("shop", (string?)import["metadata"]!["namespace"]);
        Assert.Equal("web", (string?)import["metadata"]!["name"]);
        Assert.Equal("ClusterSetIP", (string?)import["spec"]!["type"]);
        Assert.True(System.Net.IPNetwork.Parse("10.112.0.0/16").Contains(System.Net.IPAddress.Parse((string)import["spec"]!["ips"]![0]!)));
        // The CRD's status subresource: status.clusters goes through /status, or the server drops it.
        Assert.Equal(["aws", "gcp"], import["status"]!["clusters"]!.AsArray().Select(c => (string)c!["cluster"]!));
        Assert.Equal(2, Slices.Items().Length);
        foreach (var (cluster, addresses, port) in new[] { ("aws", new[] { "10.244.1.2", "10.244.1.3" }, 8080), ("gcp", new[] { "10.248.0.2" }, 9090) })
        {
            var slice = SliceOf(cluster);
            var labels = slice["metadata"]!["labels"]!.AsObject();
            Assert.Equal("web", (string?)labels["multicluster.kubernetes.io/service-name"]);
            Assert.Equal(cluster, (string?)labels["multicluster.kubernetes.io/source-cluster"]);
            Assert.Equal("mcs.patronus.io", (string?)labels["endpointslice.kubernetes.io/managed-by"]);
            Assert.NotEqual("endpointslice-controller.k8s.io", (string?)labels["endpointslice.kubernetes.io/managed-by"]);
            // kube-proxy would mix a slice labelled kubernetes.io/service-name into the local Service.
            Assert.False(labels.ContainsKey("kubernetes.io/service-name"));
            Assert.Equal("IPv4", (string?)slice["addressType"]);
            Assert.Equal(addresses, slice["endpoints"]!.AsArray().Select(e => (string)e!["addresses"]![0]!));
            Assert.Equal(port, (int)slice["ports"]![0]!["port"]!);
        }

        // Nothing changed: nothing is written (a pass runs every second and on every event).
        var writes = _server.WritesSoFar().Length;
        await PassAsync(writer, Aws("10.244.1.2", "10.244.1.3"), Gcp("10.248.0.2"));
        Assert.Equal(writes, _server.WritesSoFar().Length);

        // gcp's endpoints change: its slice alone is replaced.
        await PassAsync(writer, Aws("10.244.1.2", "10.244.1.3"), Gcp("10.248.0.7"));
        var replaced = Assert.Single(_server.WritesSoFar()[writes..]);
        Assert.Equal($"PUT apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/{SliceOf("gcp")["metadata"]!["name"]}", replaced);
        Assert.Equal("10.248.0.7", (string?)SliceOf("gcp")["endpoints"]![0]!["addresses"]![0]);

        // gcp has no ready endpoint: its slice stays, empty; and is then left alone.
        await PassAsync(writer, Aws("10.244.1.2", "10.244.1.3"), Gcp());
        Assert.Empty(SliceOf("gcp")["endpoints"]?.AsArray() ?? []);
        writes = _server.WritesSoFar().Length;
        await PassAsync(writer, Aws("10.244.1.2", "10.244.1.3"), Gcp());
        Assert.Equal(writes, _server.WritesSoFar().Length);

        // gcp unexports: its slice goes, the import names aws alone.
        await PassAsync(writer, Aws("10.244.1.2", "10.244.1.3"));
        Assert.Equal("aws", (string?)Assert.Single(Slices.Items())["metadata"]!["labels"]![ImportedObjects.SourceClusterLabel]);
        Assert.Equal(["aws"], Assert.Single(Imports.Items())["status"]!["clusters"]!.AsArray().Select(c => (string)c!["cluster"]!));

        // The last export goes: the import and every slice of ours go; the local Service's own slice stays.
        Slices.Add(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "web-local", ["namespace"] = "shop", ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "web", ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io" } },
            ["addressType"] = "IPv4",
        });
        await PassAsync(writer);
        Assert.Empty(Imports.Items());
        Assert.Equal("web-local", (string?)Assert.Single(Slices.Items())["metadata"]!["name"]);
    }

    [Fact]
    public async Task Writer_ReplacesAnImportWhoseSpecSomeoneChanged_AndKeepsItsVip()
    {
        var writer = new ApiImportWriter(_client);
        await PassAsync(writer, Aws("10.244.1.2"));
        var import = Imports.Items().Single();
        var vip = (string)import["spec"]!["ips"]![0]!;
        var tampered = (JsonObject)import.DeepClone();
        tampered["spec"]!["sessionAffinity"] = "ClientIP";
        Imports.Modify(tampered);

        await PassAsync(writer, Aws("10.244.1.2"));

        import = Imports.Items().Single();
        Assert.Equal("None", (string?)import["spec"]!["sessionAffinity"]);
        Assert.Equal(vip, (string?)import["spec"]!["ips"]![0]);
    }

    /// <summary>An agent of the cluster: a gateway standing for the Lease, writing when it leads.</summary>
    private sealed class Agent(string name, ApiImportWriterTests test) : IDisposable
    {
        public LeaseLeadership Leadership { get; } = new(test.Client(), "kube-system", "patronus-mcs-writer", name, TimeSpan.FromSeconds(3));

        public ApiImportWriter Writer { get; } = new(test.Client());

        public int Passes { get; private set; }

        public async Task<bool> PassAsync(params ClusterExport[] exports)
        {
            if (!Leadership.TryLead())
                return false;
            Passes++;
            await test.PassAsync(Writer, exports);
            return true;
        }

        public void Dispose() => Leadership.Dispose();
    }

    private string? Holder() => (string?)Leases.Get("kube-system", "patronus-mcs-writer")?["spec"]?["holderIdentity"];

    [Fact]
    public async Task OnlyTheLeaseHolderWrites_AndAnotherTakesOverWhenItStopsRenewing()
    {
        using var a = new Agent("gw-a", this);
        using var b = new Agent("gw-b", this);
        var endpoint = 2;
        Assert.True(await Poll.UntilAsync(async () =>
        {
            await a.PassAsync(Aws($"10.244.1.{endpoint}"));
            await b.PassAsync(Aws($"10.244.1.{endpoint}"));
            return a.Passes + b.Passes > 0;
        }, TimeSpan.FromSeconds(20)), "neither agent became the writer");
        var (holder, other) = a.Passes > 0 ? (a, b) : (b, a);
        var holderName = holder == a ? "gw-a" : "gw-b";
        Assert.Equal(holderName, Holder());

        // Several lease periods: the holder renews, the other never writes.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(7))
        {
            endpoint++;
            Assert.True(await holder.PassAsync(Aws($"10.244.1.{endpoint}")), "the holder lost the Lease while renewing it");
            Assert.False(await other.PassAsync(Aws("10.244.9.9")), "two writers at once");
            await Task.Delay(200);
        }
        Assert.Equal(0, other.Passes);
        Assert.Equal($"10.244.1.{endpoint}", (string?)SliceOf("aws")["endpoints"]![0]!["addresses"]![0]);

        // The holder stops renewing (its node is no longer a gateway, or its agent is gone): the other takes over and writes.
        holder.Leadership.Resign();
        Assert.True(await Poll.UntilAsync(() => other.PassAsync(Aws("10.244.1.200")), TimeSpan.FromSeconds(20)), "no takeover");
        Assert.Equal(other == a ? "gw-a" : "gw-b", Holder());
        Assert.Equal("10.244.1.200", (string?)SliceOf("aws")["endpoints"]![0]!["addresses"]![0]);
    }

    [Fact]
    public async Task AHolderThatCannotRenew_StopsWriting_BeforeAnotherTakesTheLeaseOver()
    {
        using var a = new Agent("gw-a", this);
        using var b = new Agent("gw-b", this);
        Assert.True(await Poll.UntilAsync(() => a.Leadership.TryLead() | b.Leadership.TryLead(), TimeSpan.FromSeconds(20)), "neither agent became the writer");
        var (holder, other) = a.Leadership.TryLead() ? (a, b) : (b, a);
        var holderName = Holder()!;

        // The API server takes no renewal from the holder any more; it still answers its reads (it sees itself named).
        Leases.Refuse = (method, body) => method == "PUT" && (string?)body?["spec"]?["holderIdentity"] == holderName;
        TimeSpan? stopped = null, taken = null;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (taken is null && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            var holderLeads = holder.Leadership.TryLead();
            var otherLeads = other.Leadership.TryLead();
            Assert.False(holderLeads && otherLeads, $"two writers at once, {watch.Elapsed.TotalMilliseconds:0} ms after the renewals began to fail");
            if (!holderLeads)
                stopped ??= watch.Elapsed;
            if (otherLeads)
                taken = watch.Elapsed;
            await Task.Delay(50);
        }
        _output.WriteLine($"lease 3 s: the holder stopped writing {stopped?.TotalMilliseconds:0} ms after its renewals began to fail, the other took over at {taken?.TotalMilliseconds:0} ms");
        Assert.NotNull(taken);
        Assert.True(stopped < taken);
        Assert.NotEqual(holderName, Holder());
    }

    private JsonObject AddExport(string name)
    {
        Exports.Add(new JsonObject { ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop", ["uid"] = Guid.NewGuid().ToString(), ["creationTimestamp"] = "2026-12-01T10:00:00Z", ["generation"] = 1 } });
        return Exports.Get("shop", name)!;
    }

    private static V1Alpha1ServiceExport Typed(JsonObject export) => KubernetesJson.Deserialize<V1Alpha1ServiceExport>(export.ToJsonString());

    private static V1Service WebService(int port) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop" },
        Spec = new V1ServiceSpec { Type = "ClusterIP", Ports = [new V1ServicePort { Name = "http", Port = port, TargetPort = 8080 }] },
    };

    [Fact]
    public async Task ExportConditions_AreWrittenToTheStatusSubresource_OnlyWhenTheyChange()
    {
        var stored = AddExport("web");
        var statuses = new ExportStatusWriter(new ApiImportWriter(_client));

        async Task<int> Pass(JsonObject seen, int awsPort, params ClusterExport[] remote)
        {
            var export = Typed(seen);
            var local = LocalExports.From("aws", [export], [WebService(awsPort)], []);
            var plan = ImportPlan.Make([.. local, .. remote], _ => true, _ => true, [], [], Allocator, All);
            return await statuses.WriteAsync("aws", [export], plan.Conditions, CancellationToken.None);
        }

        Assert.Equal(1, await Pass(stored, 80));
        var written = Exports.Get("shop", "web")!;
        var conditions = written["status"]!["conditions"]!.AsArray();
        Assert.Equal(["Valid", "Ready", "Conflict"], conditions.Select(c => (string)c!["type"]!));
        Assert.Equal(["True", "True", "False"], conditions.Select(c => (string)c!["status"]!));
        Assert.Equal(["Valid", "Exported", "NoConflicts"], conditions.Select(c => (string)c!["reason"]!));
        Assert.All(conditions, c => Assert.NotNull((string?)c!["lastTransitionTime"]));
        Assert.All(conditions, c => Assert.Equal(1, (int)c!["observedGeneration"]!));
        // The status subresource: the export itself is untouched (no generation bump, same metadata).
        Assert.Equal(1, (int)written["metadata"]!["generation"]!);

        // Before the watch brings the write back (the object seen is the old one), and after: nothing is written again.
        var writes = _server.WritesSoFar().Length;
        Assert.Equal(0, await Pass(stored, 80));
        Assert.Equal(0, await Pass(written, 80));
        Assert.Equal(writes, _server.WritesSoFar().Length);

        // gcp exports web with another port number under the same name: Conflict turns True; Valid and Ready keep their time.
        await Task.Delay(1100);
        Assert.Equal(1, await Pass(written, 80, Export("gcp", -10, ports: [Port("http", 8000)])));
        var conflicted = Exports.Get("shop", "web")!["status"]!["conditions"]!.AsArray();
        var conflict = conflicted.Single(c => (string?)c!["type"] == "Conflict")!;
        Assert.Equal("True", (string?)conflict["status"]);
        Assert.Equal("PortConflict", (string?)conflict["reason"]);
        Assert.NotEqual((string?)conditions[2]!["lastTransitionTime"], (string?)conflict["lastTransitionTime"]);
        Assert.Equal((string?)conditions[0]!["lastTransitionTime"], (string?)conflicted[0]!["lastTransitionTime"]);
        Assert.Equal((string?)conditions[1]!["lastTransitionTime"], (string?)conflicted[1]!["lastTransitionTime"]);

        // An export deleted under the writer is not brought back.
        var last = Exports.Get("shop", "web")!;
        Exports.Delete(last);
        Assert.Equal(0, await Pass(last, 81));
        Assert.Null(Exports.Get("shop", "web"));
    }

    [Fact]
    public async Task ExportConditions_InTheManifestsFolder_KeepTheFile_AndNeverReviveADeletedExport()
    {
        var folder = Directory.CreateTempSubdirectory("patronus-mcs-status-").FullName;
        try
        {
            var file = Path.Combine(folder, "serviceexport.shop.web.json");
            var original = """{"apiVersion":"multicluster.x-k8s.io/v1alpha1","kind":"ServiceExport","metadata":{"name":"web","namespace":"shop","creationTimestamp":"2026-12-01T10:00:00Z","labels":{"team":"a"}},"spec":{"exportedLabels":{"x":"y"}}}""";
            File.WriteAllText(file, original);
            var statuses = new ExportStatusWriter(new ManifestFolderImportWriter(folder));
            var export = KubernetesJson.Deserialize<V1Alpha1ServiceExport>(original);
            var plan = ImportPlan.Make(LocalExports.From("aws", [export], [WebService(80)], []), _ => true, _ => true, [], [], Allocator, All);

            Assert.Equal(1, await statuses.WriteAsync("aws", [export], plan.Conditions, CancellationToken.None));

            var written = JsonNode.Parse(File.ReadAllText(file))!;
            Assert.Equal("a", (string?)written["metadata"]!["labels"]!["team"]);
            Assert.Equal("y", (string?)written["spec"]!["exportedLabels"]!["x"]);
            Assert.Equal("2026-12-01T10:00:00Z", (string?)written["metadata"]!["creationTimestamp"]);
            Assert.Equal(["Valid", "Ready", "Conflict"], written["status"]!["conditions"]!.AsArray().Select(c => (string)c!["type"]!));
            Assert.Empty(Directory.GetFiles(folder, ".*"));
            var reread = KubernetesJson.Deserialize<V1Alpha1ServiceExport>(File.ReadAllText(file));
            Assert.Equal(0, await statuses.WriteAsync("aws", [reread], plan.Conditions, CancellationToken.None));

            File.Delete(file);
            var invalid = ImportPlan.Make(LocalExports.From("aws", [export], [], []), _ => true, _ => true, [], [], Allocator, All);
            Assert.Equal(0, await statuses.WriteAsync("aws", [reread], invalid.Conditions, CancellationToken.None));
            Assert.False(File.Exists(file));
            Assert.Empty(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }
}
