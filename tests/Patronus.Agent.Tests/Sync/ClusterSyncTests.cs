using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Sync;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Informers.ManifestFolder;
using Patronus.Kubernetes.Kinds;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Sync;

/// <summary>The cluster sync over a real manifest folder: what a feature subscribed to some kinds receives, whenever it subscribes.</summary>
public sealed class ClusterSyncTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pagt-sync-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private readonly ClusterSync _sync;
    private Task? _running;

    public ClusterSyncTests()
    {
        var folder = new ManifestFolderSource(_directory, NullLogger.Instance, TimeSpan.FromMilliseconds(100));
        _sync = new ClusterSync([folder], NullLogger<ClusterSync>.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        if (_running is not null)
            await _running;
        Directory.Delete(_directory, recursive: true);
    }

    private void Write(string name, string json) => File.WriteAllText(Path.Combine(_directory, name), json);

    private static string Node(string name) => $$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"{{{name}}}"}}""";

    private static string Pod(string name) => $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","namespace":"shop"}}""";

    private async Task StartAndSync()
    {
        _running = _sync.RunAsync(_stop.Token);
        await _sync.Synced.WaitAsync(TimeSpan.FromSeconds(15));
    }

    private static string[] Seen(ConcurrentQueue<ResourceEvent> events) =>
        events.Select(e => $"{e.Type} {e.Object.Kind} {e.Object.Metadata.Name}").ToArray();

    [Fact]
    public async Task SubscribedBeforeStart_ReceivesEveryObjectOfItsKinds_AndNoOther()
    {
        Write("a.json", Node("n1"));
        Write("b.json", Pod("web"));
        var nodes = new ConcurrentQueue<ResourceEvent>();
        _sync.Subscribe([ResourceKinds.Nodes], nodes.Enqueue);

        await StartAndSync();

        Assert.Equal(["Added Node n1"], Seen(nodes));
        // The folder's implicit Namespace and the Pod reach the store, not this subscriber.
        Assert.Single(_sync.Snapshot().Pods);
        Assert.Single(_sync.Snapshot().Namespaces);
    }

    [Fact]
    public async Task SubscribedAfterSync_ReceivesWhatIsHeld_ThenEveryLaterChange()
    {
        Write("a.json", Node("n1"));
        await StartAndSync();

        var nodes = new ConcurrentQueue<ResourceEvent>();
        using (_sync.Subscribe([ResourceKinds.Nodes, ResourceKinds.Pods], nodes.Enqueue))
        {
            Assert.Equal(["Added Node n1"], Seen(nodes));
            Write("b.json", Node("n2"));
            Assert.True(await Poll.UntilAsync(() => nodes.Count == 2, TimeSpan.FromSeconds(15)));
            File.Delete(Path.Combine(_directory, "a.json"));
            Assert.True(await Poll.UntilAsync(() => nodes.Count == 3, TimeSpan.FromSeconds(15)));
            Assert.Equal(["Added Node n1", "Added Node n2", "Deleted Node n1"], Seen(nodes));
        }

        // Unsubscribed: the store moves on, the handler hears nothing more.
        Write("c.json", Pod("web"));
        Assert.True(await Poll.UntilAsync(() => _sync.Snapshot().Pods.Count == 1, TimeSpan.FromSeconds(15)));
        Assert.Equal(3, nodes.Count);
    }

    [Fact]
    public async Task FailingSubscriber_CostsNeitherTheSourceNorTheOtherSubscribers()
    {
        _sync.Subscribe([ResourceKinds.Nodes], _ => throw new InvalidOperationException("a feature's bug"));
        var nodes = new ConcurrentQueue<ResourceEvent>();
        _sync.Subscribe([ResourceKinds.Nodes], nodes.Enqueue);
        Write("a.json", Node("n1"));
        await StartAndSync();

        Write("b.json", Node("n2"));
        Assert.True(await Poll.UntilAsync(() => nodes.Count == 2, TimeSpan.FromSeconds(15)));
        Assert.Equal(2, _sync.Snapshot().Nodes.Count);
        Assert.Null(_sync.NotReadyReason);
    }
}
