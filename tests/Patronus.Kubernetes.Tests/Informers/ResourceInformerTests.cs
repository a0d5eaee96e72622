using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Store;
using Patronus.Testing;
using static Patronus.Kubernetes.Tests.Informers.FakeObjects;

namespace Patronus.Kubernetes.Tests.Informers;

public sealed class ResourceInformerTests : IAsyncDisposable
{
    private readonly FakeApiServer _server = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ClusterStore _store = new();
    private readonly ConcurrentQueue<ResourceEvent> _events = new();
    private ResourceInformer<V1Pod, V1PodList>? _informer;
    private Task? _running;

    private ResourceInformer<V1Pod, V1PodList> Start(ResourceInformerOptions? options = null)
    {
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseUri.ToString() });
        _informer = new ResourceInformer<V1Pod, V1PodList>(new ApiConnection(client), ResourceKinds.Pods, options ?? new ResourceInformerOptions
        {
            PageSize = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(200),
        }, NullLogger.Instance);
        _store.Attach(_informer);
        _informer.Changed += _events.Enqueue;
        _running = Task.Run(() => _informer.RunAsync(_stop.Token));
        return _informer;
    }

    private string[] PodNames() => _store.Snapshot().Pods.Select(p => p.Metadata.Name).ToArray();

    [Fact]
    public async Task InitialList_IsPagedAndFillsTheStore()
    {
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
            _server.Pods.Add(Pod(name));

        await Start().Synced.WaitAsync(Timeout);

        Assert.Equal(["a", "b", "c", "d", "e"], PodNames());
        var lists = _server.ListRequests();
        Assert.Equal(3, lists.Length);
        Assert.Equal("api/v1/pods?limit=2", lists[0]);
        Assert.Contains("continue=", lists[1]);
    }

    [Fact]
    public async Task ContinueTokenExpired_RestartsTheListFromTheFirstPage()
    {
        foreach (var name in new[] { "a", "b", "c" })
            _server.Pods.Add(Pod(name));
        _server.Pods.ExpireNextContinue = true;

        await Start().Synced.WaitAsync(Timeout);

        Assert.Equal(["a", "b", "c"], PodNames());
        var lists = _server.ListRequests();
        Assert.Equal(["api/v1/pods?limit=2", "api/v1/pods?limit=2&continue=", "api/v1/pods?limit=2", "api/v1/pods?limit=2&continue="], lists.Select(l => l.Split("continue=")[0] + (l.Contains("continue=") ? "continue=" : "")).ToArray());
        Assert.Equal(3, _events.Count);
    }

    [Fact]
    public async Task WatchEvents_AreApplied()
    {
        _server.Pods.Add(Pod("a", ip: "10.244.1.1"));
        await Start().Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");

        _server.Pods.Add(Pod("b"));
        _server.Pods.Modify(Pod("a", ip: "10.244.1.99"));
        _server.Pods.Delete(Pod("b"));
        _server.Pods.Add(Pod("c"));

        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["a", "c"]), Timeout), "condition not reached in time");
        Assert.Equal("10.244.1.99", _store.Snapshot().Pods[0].Status.PodIP);
        Assert.Equal(
            [ResourceEventType.Added, ResourceEventType.Added, ResourceEventType.Modified, ResourceEventType.Deleted, ResourceEventType.Added],
            _events.Select(e => e.Type).ToArray());
    }

    [Theory]
    [InlineData("""{"object": {}}""")]
    [InlineData("[]")]
    [InlineData("""{"type": "ADDED", "object": 7}""")]
    [InlineData("""{"type": "ADDED", "object": {"metadata": {"name": "x", "labels": {"a": ["not", "a", "string"]}}}}""")]
    public async Task WatchLineOfUnexpectedShape_IsSurvived_AndLaterEventsApply(string line)
    {
        _server.Pods.Add(Pod("a"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");

        _server.Pods.SendRaw(line);
        Assert.True(await Poll.UntilAsync(() => _server.WatchRequests().Length >= 2, Timeout), "condition not reached in time");
        _server.Pods.Add(Pod("b"));

        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["a", "b"]), Timeout), "condition not reached in time");
        Assert.False(_running!.IsCompleted, "the informer stopped");
    }

    [Fact]
    public async Task Watch_StartsFromTheListsResourceVersionWithBookmarks()
    {
        _server.Pods.Add(Pod("a"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.WatchRequests().Length == 1, Timeout), "condition not reached in time");

        var watch = _server.WatchRequests()[0];
        Assert.Contains($"resourceVersion={informer.LastResourceVersion}", watch);
        Assert.Contains("allowWatchBookmarks=true", watch);
    }

    [Fact]
    public async Task Bookmark_AdvancesResourceVersion()
    {
        _server.Pods.Add(Pod("a"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");

        _server.Pods.Bookmark(5000);
        Assert.True(await Poll.UntilAsync(() => informer.LastResourceVersion == "5000", Timeout), "condition not reached in time");
        _server.Pods.DropWatches(midLine: false);

        Assert.True(await Poll.UntilAsync(() => _server.WatchRequests().Length == 2, Timeout), "condition not reached in time");
        Assert.Contains("resourceVersion=5000", _server.WatchRequests()[1]);
        Assert.Equal(["a"], PodNames());
        Assert.Single(_events);
    }

    [Fact]
    public async Task Gone410_ReListsAndDeletesVanishedObjects()
    {
        _server.Pods.Add(Pod("a"));
        _server.Pods.Add(Pod("b"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");

        _server.Pods.DeleteUnseen(Pod("b"));
        _server.Pods.AddUnseen(Pod("c"));
        _server.Pods.Compact();
        _server.Pods.SendGone();

        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["a", "c"]), Timeout), "condition not reached in time");
        Assert.Equal(2, informer.ListCount);
        var deleted = Assert.Single(_events, e => e.Type == ResourceEventType.Deleted);
        Assert.Equal("b", deleted.Object.Metadata.Name);
        Assert.DoesNotContain(_events, e => e.Object.Metadata.Name == "a" && e.Type == ResourceEventType.Modified);
    }

    [Fact]
    public async Task Gone410AsHttpStatus_ReListsAndDeletesVanishedObjects()
    {
        _server.Pods.GoneAsHttpStatus = true;
        _server.Pods.Add(Pod("a"));
        _server.Pods.Add(Pod("b"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");

        _server.Pods.DeleteUnseen(Pod("a"));
        _server.Pods.Compact();
        _server.Pods.DropWatches(midLine: false);

        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["b"]), Timeout), "condition not reached in time");
        Assert.Equal(2, informer.ListCount);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");
        _server.Pods.Add(Pod("d"));
        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["b", "d"]), Timeout), "condition not reached in time");
    }

    [Fact]
    public async Task Gone410OnReconnect_AsErrorEvent_ReLists()
    {
        _server.Pods.Add(Pod("a"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");

        _server.Pods.AddUnseen(Pod("z"));
        _server.Pods.Compact();
        _server.Pods.DropWatches(midLine: false);

        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["a", "z"]), Timeout), "condition not reached in time");
        Assert.Equal(2, informer.ListCount);
    }

    [Fact]
    public async Task DroppedConnection_ReconnectsWithBackoffAndResumes()
    {
        _server.Pods.Add(Pod("a"));
        var informer = Start();
        await informer.Synced.WaitAsync(Timeout);
        Assert.True(await Poll.UntilAsync(() => _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");
        _server.Pods.Add(Pod("b"));
        Assert.True(await Poll.UntilAsync(() => PodNames().Length == 2, Timeout), "condition not reached in time");
        var resumeFrom = informer.LastResourceVersion;

        _server.Pods.DropWatches(midLine: true);
        Assert.True(await Poll.UntilAsync(() => _server.WatchRequests().Length == 2 && _server.Pods.OpenWatches == 1, Timeout), "condition not reached in time");
        _server.Pods.Add(Pod("c"));

        Assert.True(await Poll.UntilAsync(() => PodNames().SequenceEqual(["a", "b", "c"]), Timeout), "condition not reached in time");
        Assert.Contains($"resourceVersion={resumeFrom}", _server.WatchRequests()[1]);
        Assert.Equal(1, informer.ListCount);
        Assert.Equal(3, _events.Count);
    }

    [Fact]
    public async Task ApiServerDown_KeepsRetryingUntilItAnswers()
    {
        var informer = Start();
        Assert.True(await Poll.UntilAsync(() => _server.ListRequests().Length >= 1, Timeout), "condition not reached in time");

        Assert.False(informer.Synced.IsCompleted);
        _server.Collection("api/v1/pods", "PodList", "v1");
        await informer.Synced.WaitAsync(Timeout);
        Assert.Empty(PodNames());
    }

    [Fact]
    public async Task Resync_ReListsPeriodically()
    {
        _server.Pods.Add(Pod("a"));
        var informer = Start(new ResourceInformerOptions { ResyncPeriod = TimeSpan.FromMilliseconds(300), InitialBackoff = TimeSpan.FromMilliseconds(20) });
        await informer.Synced.WaitAsync(Timeout);

        Assert.True(await Poll.UntilAsync(() => informer.ListCount >= 3, Timeout), "condition not reached in time");

        Assert.Equal(["a"], PodNames());
        Assert.Single(_events);
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_running is not null)
            await _running.WaitAsync(Timeout);
        _server.Dispose();
    }
}
