using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Kubernetes.Informers;
using Patronus.Kubernetes.Informers.ManifestFolder;
using Patronus.Kubernetes.Store;
using Patronus.Testing;

namespace Patronus.Kubernetes.Tests.Informers;

public sealed class SourceSupervisorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pagt-supervised-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task SourceFails_IsRestarted_AndReportsTheProblemUntilItHasSyncedAgain()
    {
        File.WriteAllText(Path.Combine(_directory, "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
        using var folder = new ManifestFolderSource(_directory, NullLogger.Instance, TimeSpan.FromMilliseconds(100));
        var store = new ClusterStore();
        store.Attach(folder);
        var supervisor = new SourceSupervisor([folder], NullLogger.Instance, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200));
        var failures = 0;
        supervisor.SourceFailed += (_, _) => Interlocked.Increment(ref failures);
        using var stop = new CancellationTokenSource();
        var running = supervisor.RunAsync(stop.Token);
        await supervisor.Synced.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Null(supervisor.Problem);

        Directory.Delete(_directory, recursive: true);
        Assert.True(await Poll.UntilAsync(() => supervisor.Problem is not null && Volatile.Read(ref failures) >= 2, TimeSpan.FromSeconds(15)), "condition not reached in time");
        Assert.Contains("manifests folder", supervisor.Problem);
        Assert.Contains("does not exist", supervisor.Problem);

        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");

        Assert.True(await Poll.UntilAsync(() => supervisor.Problem is null && store.Snapshot().Namespaces.SingleOrDefault()?.Metadata.Name == "b", TimeSpan.FromSeconds(15)), "condition not reached in time");
        Assert.False(running.IsCompleted);
        stop.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
