using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Kinds.Multicluster;
using Patronus.Kubernetes.Manifests;
using Patronus.Kubernetes.Store;
using Patronus.Kubernetes.Tests.Informers;
using Patronus.Testing;

namespace Patronus.Kubernetes.Tests.Kinds;

/// <summary>
/// The MCS API's ServiceExport and ServiceImport as registered kinds: read with every field, matched field for field by
/// the CRDs in deploy/mcs/, and optional on an API server (a cluster without the CRDs still syncs).
/// </summary>
public sealed class MulticlusterKindsTests
{
    [Fact]
    public void ServiceImport_FromAManifest_KeepsEveryField()
    {
        var set = new ManifestSet();
        ManifestLoader.LoadText("""
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceImport
            metadata: {name: web, namespace: shop}
            spec:
              type: ClusterSetIP
              ips: [10.112.0.7, "fd00:112::7"]
              ipFamilies: [IPv4, IPv6]
              ports: [{name: http, protocol: TCP, appProtocol: http, port: 80}]
              sessionAffinity: ClientIP
              sessionAffinityConfig: {clientIP: {timeoutSeconds: 300}}
            status:
              clusters: [{cluster: cluster-a}, {cluster: cluster-b}]
            """, "import.yaml", set);
        Assert.Empty(set.Errors);
        var import = Assert.IsType<V1Alpha1ServiceImport>(Assert.Single(set.Objects()));
        var spec = import.Spec!;
        Assert.Equal(("ClusterSetIP", "ClientIP", 300), (spec.Type, spec.SessionAffinity, spec.SessionAffinityConfig!.ClientIP.TimeoutSeconds));
        Assert.Equal(["10.112.0.7", "fd00:112::7"], spec.Ips!);
        Assert.Equal(["IPv4", "IPv6"], spec.IpFamilies!);
        var port = Assert.Single(spec.Ports);
        Assert.Equal(("http", "TCP", "http", 80), (port.Name, port.Protocol, port.AppProtocol, port.Port));
        Assert.Equal(["cluster-a", "cluster-b"], import.Status!.Clusters!.Select(c => c.Cluster));
    }

    [Fact]
    public void ServiceExport_FromAManifest_KeepsItsConditions()
    {
        var set = new ManifestSet();
        ManifestLoader.LoadText("""
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceExport
            metadata: {name: web, namespace: shop, creationTimestamp: "2026-01-02T03:04:05Z"}
            status:
              conditions:
              - {type: Valid, status: "False", reason: InvalidServiceType, message: ExternalName, lastTransitionTime: "2026-01-02T03:04:06Z"}
            """, "export.yaml", set);
        Assert.Empty(set.Errors);
        var export = Assert.IsType<V1Alpha1ServiceExport>(Assert.Single(set.Objects()));
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), export.Metadata.CreationTimestamp);
        var condition = Assert.Single(export.Status!.Conditions!);
        Assert.Equal(("Valid", "False", "InvalidServiceType"), (condition.Type, condition.Status, condition.Reason));
    }

    public static TheoryData<string> CrdFiles() => new("serviceexports.yaml", "serviceimports.yaml");

    [Theory]
    [MemberData(nameof(CrdFiles))]
    public async Task Crd_DescribesTheRegisteredKindFieldForField(string file)
    {
        var crd = Assert.IsType<V1CustomResourceDefinition>(
            Assert.Single(await KubernetesYaml.LoadAllFromFileAsync(Checkout.PathOf(Path.Combine("deploy", "mcs", file)), strict: true)));
        var kind = ResourceKinds.Named(crd.Spec.Names.Kind)!;
        Assert.NotNull(kind);
        Assert.Equal($"{kind.Plural}.{kind.Group}", crd.Metadata.Name);
        Assert.Equal((kind.Group, kind.Plural, "Namespaced", kind.Kind + "List"), (crd.Spec.Group, crd.Spec.Names.Plural, crd.Spec.Scope, crd.Spec.Names.ListKind));
        var version = Assert.Single(crd.Spec.Versions);
        Assert.Equal(kind.ApiVersion, $"{crd.Spec.Group}/{version.Name}");
        Assert.True(version.Served && version.Storage);
        Assert.NotNull(version.Subresources.Status);

        // Every property the CRD declares under spec and status is a property of our classes, and the other way round:
        // a field one side lacks would be dropped by the API server or by the agent.
        var schema = version.Schema.OpenAPIV3Schema;
        AssertSameFields(kind.ObjectType, schema);
    }

    private static void AssertSameFields(Type type, V1JSONSchemaProps schema)
    {
        var declared = (schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>()).Keys.Order().ToArray();
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name, p => p.PropertyType);
        Assert.Equal(properties.Keys.Order().ToArray(), declared);
        foreach (var (name, propertyType) in properties)
        {
            var element = propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(IList<>) ? propertyType.GetGenericArguments()[0] : propertyType;
            // Our own nested classes are compared recursively; the Kubernetes models (metadata, conditions) are the API's own.
            if (element.Namespace == typeof(V1Alpha1ServiceExport).Namespace)
                AssertSameFields(element, schema.Properties![name].Items is { } items
                    ? KubernetesJson.Deserialize<V1JSONSchemaProps>(KubernetesJson.Serialize(items))
                    : schema.Properties[name]);
        }
    }

    [Fact]
    public async Task OptionalKind_NotServed_IsSyncedEmptyAndPickedUpOnceItsCrdIsInstalled()
    {
        using var server = new FakeApiServer();
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() });
        var options = new ResourceInformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(20), AbsentKindRecheck = TimeSpan.FromMilliseconds(50) };
        var informer = ResourceKinds.ServiceExports.CreateInformer(new ApiConnection(client), options, NullLoggerFactory.Instance);
        var store = new ClusterStore();
        store.Attach(informer);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => informer.RunAsync(stop.Token));
        try
        {
            await informer.Synced.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Empty(store.Snapshot().Of(ResourceKinds.ServiceExports));
            Assert.Empty(server.WatchRequests());

            var exports = server.Collection(ResourceKinds.ServiceExports.CollectionPath, "ServiceExportList", V1Alpha1ServiceExport.GroupVersion);
            exports.Add(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "web", ["namespace"] = "shop" } });
            Assert.True(await Poll.UntilAsync(() => store.Snapshot().Of(ResourceKinds.ServiceExports).Count == 1, TimeSpan.FromSeconds(15)), "condition not reached in time");
            // Served now: the informer watches, and a change arrives through the watch.
            exports.Add(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "db", ["namespace"] = "shop" } });
            Assert.True(await Poll.UntilAsync(() => store.Snapshot().Of(ResourceKinds.ServiceExports).Count == 2, TimeSpan.FromSeconds(15)), "condition not reached in time");
            Assert.NotEmpty(server.WatchRequests());
        }
        finally
        {
            stop.Cancel();
            await running;
        }
    }

    [Fact]
    public async Task BuiltInKind_NotServed_IsNeverSynced()
    {
        using var server = new FakeApiServer();
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() });
        var options = new ResourceInformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(40) };
        var informer = ResourceKinds.Pods.CreateInformer(new ApiConnection(client), options, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => informer.RunAsync(stop.Token));
        try
        {
            Assert.True(await Poll.UntilAsync(() => server.ListRequests().Length >= 3, TimeSpan.FromSeconds(15)), "condition not reached in time");
            Assert.False(informer.Synced.IsCompleted);
        }
        finally
        {
            stop.Cancel();
            // Cancelled in the middle of a backoff, the informer ends with the cancellation.
            await running.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
