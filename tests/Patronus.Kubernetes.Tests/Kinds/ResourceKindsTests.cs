using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Manifests;
using Patronus.Kubernetes.Store;
using Patronus.Kubernetes.Tests.Informers;
using Patronus.Testing;

namespace Patronus.Kubernetes.Tests.Kinds;

/// <summary>
/// Every registered kind goes the whole way with nothing but its line in the registry: read from a manifest (alone and
/// as an item of its List), kept by the store and listed in a snapshot, and listed and watched by its informer from a
/// fake API server. A custom resource described the same way goes the same way.
/// </summary>
public sealed class ResourceKindsTests
{
    public static TheoryData<string> Kinds() => new(ResourceKinds.All.Select(k => k.Kind));

    [Fact]
    public void Registry_HasOneEntryPerKindAndPerType()
    {
        Assert.Equal(ResourceKinds.All.Count, ResourceKinds.All.Select(k => k.Kind).Distinct().Count());
        Assert.Equal(ResourceKinds.All.Count, ResourceKinds.All.Select(k => k.ObjectType).Distinct().Count());
        Assert.Equal(["Namespace", "Pod", "NetworkPolicy", "Node", "Service", "EndpointSlice", "ServiceExport", "ServiceImport"], ResourceKinds.All.Select(k => k.Kind));
        Assert.Equal("api/v1/pods", ResourceKinds.Pods.CollectionPath);
        Assert.Equal("apis/networking.k8s.io/v1/networkpolicies", ResourceKinds.NetworkPolicies.CollectionPath);
        Assert.Equal("apis/discovery.k8s.io/v1/endpointslices", ResourceKinds.EndpointSlices.CollectionPath);
        Assert.Equal("apis/multicluster.x-k8s.io/v1alpha1/serviceexports", ResourceKinds.ServiceExports.CollectionPath);
        Assert.Equal("apis/multicluster.x-k8s.io/v1alpha1/serviceimports", ResourceKinds.ServiceImports.CollectionPath);
        // Only the MCS API's custom resources may be missing from an API server; a missing built-in kind is an error.
        Assert.Equal(["ServiceExport", "ServiceImport"], ResourceKinds.All.Where(k => k.Optional).Select(k => k.Kind));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RegisteredKind_IsLoadedFromAManifestAndKeptInTheSnapshot(string kindName)
    {
        var kind = ResourceKinds.Named(kindName)!;
        LoadAndStore(kind, ResourceKinds.All);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RegisteredKind_WithAnotherApiVersion_IsRefusedNamingTheField(string kindName)
    {
        var kind = ResourceKinds.Named(kindName)!;
        var set = new ManifestSet();
        ManifestLoader.LoadText(Manifest(kind, "x1", apiVersion: "example.com/v9").ToJsonString(), "m.json", set);
        var error = Assert.Single(set.Errors);
        Assert.Equal("apiVersion", error.Field);
        Assert.Contains($"expected {kind.ApiVersion}", error.Message);
        Assert.Empty(set.Objects());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RegisteredKind_IsListedAndWatchedByItsInformer(string kindName) =>
        await ListAndWatch(ResourceKinds.Named(kindName)!, ResourceKinds.All);

    [Fact]
    public async Task CustomResource_DescribedInARegistry_GoesTheSameWay()
    {
        IReadOnlyList<ResourceKind> kinds = [ResourceKinds.Namespaces, Widgets];
        Assert.Equal("apis/example.patronus.io/v1alpha1/widgets", Widgets.CollectionPath);
        var loaded = LoadAndStore(Widgets, kinds);
        Assert.Equal(3, Assert.IsType<Widget>(loaded).Spec!.Size);
        await ListAndWatch(Widgets, kinds);
    }

    /// <summary>Loads one object of the kind alone and one as an item of its List (kind and apiVersion left to the list), then adds and deletes it in a store.</summary>
    private static IKubernetesObject<V1ObjectMeta> LoadAndStore(ResourceKind kind, IReadOnlyList<ResourceKind> kinds)
    {
        var set = new ManifestSet(kinds);
        ManifestLoader.LoadText(Manifest(kind, "x1").ToJsonString(), "one.json", set);
        var item = Manifest(kind, "x2");
        item.Remove("kind");
        item.Remove("apiVersion");
        var list = new JsonObject { ["apiVersion"] = "v1", ["kind"] = kind.Kind + "List", ["items"] = new JsonArray(item) };
        ManifestLoader.LoadText(list.ToJsonString(), "list.json", set);
        Assert.Empty(set.Errors);
        var objects = set.Objects().ToList();
        Assert.Equal(["x1", "x2"], objects.Select(o => o.Metadata.Name));
        Assert.All(objects, o => Assert.IsType(kind.ObjectType, o));
        Assert.All(objects, o => Assert.Equal((kind.Kind, kind.ApiVersion), (o.Kind, o.ApiVersion)));
        Assert.Equal(kind.Namespaced ? "ns1" : null, objects[0].Metadata.NamespaceProperty);
        Assert.Equal("one.json:1", set.Sources[objects[0]]);

        var store = new ClusterStore(kinds);
        foreach (var obj in objects)
            Assert.True(store.Apply(new ResourceEvent(ResourceEventType.Added, obj)));
        Assert.Equal(["x1", "x2"], store.Snapshot().Of(kind).Select(o => o.Metadata.Name));
        Assert.Same(objects[0], typeof(ClusterStore).GetMethod(nameof(ClusterStore.Find))!.MakeGenericMethod(kind.ObjectType)
            .Invoke(store, [objects[0].Metadata.NamespaceProperty, "x1"]));
        Assert.True(store.Apply(new ResourceEvent(ResourceEventType.Deleted, objects[0])));
        Assert.Equal(["x2"], store.Snapshot().Of(kind).Select(o => o.Metadata.Name));
        return objects[0];
    }

    private static async Task ListAndWatch(ResourceKind kind, IReadOnlyList<ResourceKind> kinds)
    {
        using var server = new FakeApiServer();
        var collection = server.Collection(kind.CollectionPath, kind.Kind + "List", kind.ApiVersion);
        collection.Add(Manifest(kind, "listed"));
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() });
        var informer = kind.CreateInformer(new ApiConnection(client), new ResourceInformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(20) }, NullLoggerFactory.Instance);
        var store = new ClusterStore(kinds);
        store.Attach(informer);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => informer.RunAsync(stop.Token));
        try
        {
            await informer.Synced.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(["listed"], store.Snapshot().Of(kind).Select(o => o.Metadata.Name));
            collection.Add(Manifest(kind, "watched"));
            Assert.True(await Poll.UntilAsync(() => store.Snapshot().Of(kind).Count == 2, TimeSpan.FromSeconds(15)), "condition not reached in time");
            Assert.All(store.Snapshot().Of(kind), o => Assert.IsType(kind.ObjectType, o));
        }
        finally
        {
            stop.Cancel();
            await running;
        }
    }

    private static JsonObject Manifest(ResourceKind kind, string name, string? apiVersion = null)
    {
        var metadata = new JsonObject { ["name"] = name };
        if (kind.Namespaced)
            metadata["namespace"] = "ns1";
        var obj = new JsonObject { ["apiVersion"] = apiVersion ?? kind.ApiVersion, ["kind"] = kind.Kind, ["metadata"] = metadata };
        if (kind == Widgets)
            obj["spec"] = new JsonObject { ["size"] = 3 };
        return obj;
    }

    private static readonly ResourceKind<Widget, WidgetList> Widgets = new("Widget", "example.patronus.io/v1alpha1", "widgets", namespaced: true);

    /// <summary>A custom resource as a CRD's generated classes would have it.</summary>
    public sealed class Widget : IKubernetesObject<V1ObjectMeta>
    {
        [JsonPropertyName("apiVersion")]
        public string ApiVersion { get; set; } = null!;

        [JsonPropertyName("kind")]
        public string Kind { get; set; } = null!;

        [JsonPropertyName("metadata")]
        public V1ObjectMeta Metadata { get; set; } = null!;

        [JsonPropertyName("spec")]
        public WidgetSpec? Spec { get; set; }
    }

    public sealed class WidgetSpec
    {
        [JsonPropertyName("size")]
        public int Size { get; set; }
    }

    public sealed class WidgetList : IItems<Widget>, IMetadata<V1ListMeta>
    {
        [JsonPropertyName("apiVersion")]
        public string ApiVersion { get; set; } = null!;

        [JsonPropertyName("kind")]
        public string Kind { get; set; } = null!;

        [JsonPropertyName("metadata")]
        public V1ListMeta Metadata { get; set; } = null!;

        [JsonPropertyName("items")]
        public IList<Widget> Items { get; set; } = [];
    }
}
