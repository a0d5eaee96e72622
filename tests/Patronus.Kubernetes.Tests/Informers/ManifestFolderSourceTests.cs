using System.Collections.Concurrent;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Informers.ManifestFolder;
using Patronus.Kubernetes.Store;
using Patronus.Testing;

namespace Patronus.Kubernetes.Tests.Informers;

public sealed class ManifestFolderSourceTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pagt-manifests-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private readonly ClusterStore _store = new();
    private readonly ConcurrentQueue<ResourceEvent> _events = new();
    private ManifestFolderSource? _source;
    private Task? _running;

    private const string WebPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          namespace: shop
          labels: { app: web }
        spec:
          containers: [{ name: c, image: busybox }]
        status:
          podIP: 10.244.1.5
        """;

    private const string DenyAll = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: deny-all
          namespace: shop
        spec:
          podSelector: {}
          policyTypes: [Ingress]
        """;

    private async Task<ManifestFolderSource> Start(TimeSpan? poll = null)
    {
        _source = new ManifestFolderSource(_directory, NullLogger.Instance, poll ?? TimeSpan.FromMilliseconds(200));
        _store.Attach(_source);
        _source.Changed += _events.Enqueue;
        _running = Task.Run(() => _source.RunAsync(_stop.Token));
        await _source.Synced.WaitAsync(TimeSpan.FromSeconds(15));
        return _source;
    }

    private void WriteFile(string name, string text) => File.WriteAllText(Path.Combine(_directory, name), text);

    [Fact]
    public async Task ManifestFolder_InitialLoad_EmitsAddsForEveryWatchedKind()
    {
        WriteFile("app.yaml", WebPod + "\n---\n" + DenyAll + "\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: ignored }\n");
        WriteFile("ns.json", """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"team":"a"}}}""");
        WriteFile("notes.txt", "not a manifest");

        await Start();

        var snapshot = _store.Snapshot();
        Assert.Equal("web", Assert.Single(snapshot.Pods).Metadata.Name);
        Assert.Equal("deny-all", Assert.Single(snapshot.NetworkPolicies).Metadata.Name);
        var ns = Assert.Single(snapshot.Namespaces);
        Assert.Equal("a", ns.Metadata.Labels["team"]);
        Assert.Equal("shop", ns.Metadata.Labels[ManifestFolderSource.NamespaceNameLabel]);
        Assert.All(_events, e => Assert.Equal(ResourceEventType.Added, e.Type));
    }

    [Fact]
    public async Task ManifestFolder_UndeclaredNamespace_ExistsWithItsNameLabel()
    {
        WriteFile("pod.yaml", WebPod.Replace("  namespace: shop\n", ""));

        await Start();

        var snapshot = _store.Snapshot();
        Assert.Equal("default", snapshot.Pods[0].Metadata.NamespaceProperty);
        Assert.Equal("default", Assert.Single(snapshot.Namespaces).Metadata.Labels[ManifestFolderSource.NamespaceNameLabel]);
    }

    [Fact]
    public async Task ManifestFolder_FileChanged_EmitsUpdate()
    {
        WriteFile("pod.yaml", WebPod);
        await Start();
        _events.Clear();

        WriteFile("pod.yaml", WebPod.Replace("10.244.1.5", "10.244.1.6"));

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().Pods[0].Status.PodIP == "10.244.1.6", TimeSpan.FromSeconds(15)), "condition not reached in time");
        var update = Assert.Single(_events);
        Assert.Equal(ResourceEventType.Modified, update.Type);
    }

    [Fact]
    public async Task ManifestFolder_FileAdded_EmitsAdd()
    {
        WriteFile("pod.yaml", WebPod);
        await Start();

        WriteFile("policy.yml", DenyAll);

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().NetworkPolicies.Count == 1, TimeSpan.FromSeconds(15)), "condition not reached in time");
    }

    [Fact]
    public async Task ManifestFolder_FileDeleted_EmitsDeletes()
    {
        WriteFile("pod.yaml", WebPod);
        WriteFile("policy.yaml", DenyAll);
        await Start();
        _events.Clear();

        File.Delete(Path.Combine(_directory, "policy.yaml"));

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().NetworkPolicies.Count == 0, TimeSpan.FromSeconds(15)), "condition not reached in time");
        var deleted = Assert.Single(_events);
        Assert.Equal(ResourceEventType.Deleted, deleted.Type);
        Assert.IsType<V1NetworkPolicy>(deleted.Object);
    }

    [Fact]
    public async Task ManifestFolder_BrokenFile_KeepsItsPreviousObjectsAndSaysWhy()
    {
        WriteFile("policy.yaml", DenyAll);
        var source = await Start();

        WriteFile("policy.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: [oops\n");

        Assert.True(await Poll.UntilAsync(() => source.Errors.Count == 1, TimeSpan.FromSeconds(15)), "condition not reached in time");
        Assert.Single(_store.Snapshot().NetworkPolicies);
        Assert.Contains("policy.yaml", source.Errors.Values.Single());
    }

    [Fact]
    public async Task ManifestFolder_SameLengthRewrite_EmitsUpdate()
    {
        WriteFile("pod.yaml", WebPod);
        await Start(poll: TimeSpan.FromMilliseconds(100));

        // Same length, new content: only a fresh read notices.
        WriteFile("pod.yaml", WebPod.Replace("app: web", "app: wab"));

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().Pods[0].Metadata.Labels["app"] == "wab", TimeSpan.FromSeconds(15)), "condition not reached in time");
    }

    [Fact]
    public async Task ManifestFolder_Fifo_IsSkippedWithoutBlocking_AndLaterChangesApply()
    {
        WriteFile("pod.yaml", WebPod);
        Assert.Equal(0, Patronus.Testing.Command.Run("mkfifo", [Path.Combine(_directory, "x.yaml")]).ExitCode);
        var source = await Start();

        WriteFile("policy.yaml", DenyAll);

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().NetworkPolicies.Count == 1, TimeSpan.FromSeconds(15)), "condition not reached in time");
        Assert.Contains("not a regular file", source.Errors[Path.Combine(_directory, "x.yaml")]);
        Assert.Single(_store.Snapshot().Pods);
    }

    [Theory]
    [InlineData("containerPort: 1e999", "containerPort")]
    [InlineData("ports: [~]", "spec.containers[0].ports[0]")]
    public async Task ManifestFolder_BadObject_IsRefusedNamingFileLineAndField_AndLaterChangesApply(string port, string field)
    {
        WriteFile("policy.yaml", DenyAll);
        var source = await Start();
        var refusedBefore = source.RefusedFiles;

        WriteFile("bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n" + WebPod.Replace("containers: [{ name: c, image: busybox }]", "containers: [{ name: c, " + (port.StartsWith("ports") ? port : "ports: [{ " + port + " }]") + " }]"));
        Assert.True(await Poll.UntilAsync(() => source.Errors.ContainsKey(Path.Combine(_directory, "bad.yaml")), TimeSpan.FromSeconds(15)), "condition not reached in time");
        WriteFile("policy.yaml", DenyAll.Replace("deny-all", "deny-more"));

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().NetworkPolicies.SingleOrDefault()?.Metadata.Name == "deny-more", TimeSpan.FromSeconds(15)), "condition not reached in time");
        var error = source.Errors[Path.Combine(_directory, "bad.yaml")];
        Assert.Contains("bad.yaml:5", error);
        Assert.Contains(field, error);
        Assert.Empty(_store.Snapshot().Pods);
        Assert.Equal(refusedBefore + 1, source.RefusedFiles);
    }

    [Fact]
    public async Task ManifestFolder_AliasBomb_IsRefused_AndTheSourceKeepsRunning()
    {
        WriteFile("policy.yaml", DenyAll);
        var source = await Start();
        var bomb = new System.Text.StringBuilder("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
            bomb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");

        WriteFile("bomb.yaml", bomb.ToString());
        WriteFile("recursive.yaml", "apiVersion: v1\nkind: Pod\nmetadata: &a {name: m, x: *a}\n");
        WriteFile("deep.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nx: " + new string('[', 20_000) + new string(']', 20_000) + "\n");
        Assert.True(await Poll.UntilAsync(() => source.Errors.Count == 3, TimeSpan.FromSeconds(15)), "condition not reached in time");
        WriteFile("pod.yaml", WebPod);

        Assert.True(await Poll.UntilAsync(() => _store.Snapshot().Pods.Count == 1, TimeSpan.FromSeconds(15)), "condition not reached in time");
        Assert.Equal(3, source.RefusedFiles);
    }

    [Fact]
    public async Task ManifestFolder_FolderRemoved_RunStopsWithAnError()
    {
        WriteFile("pod.yaml", WebPod);
        var source = await Start();

        Directory.Delete(_directory, recursive: true);

        Assert.True(await Poll.UntilAsync(() => _running!.IsCompleted, TimeSpan.FromSeconds(15)), "condition not reached in time");
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => _running!);
        Directory.CreateDirectory(_directory);
        _running = null;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_running is not null)
            await _running;
        _source?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
