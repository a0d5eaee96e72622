using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Manifests;

namespace Patronus.Kubernetes.Informers.ManifestFolder;

/// <summary>
/// Embedded mode: the cluster is whatever the *.yaml, *.yml and *.json files in a folder say. The folder is
/// watched (FileSystemWatcher, with polling as the fallback for file systems that do not notify) and each
/// change becomes adds, updates and deletes, exactly as an informer would raise them.
/// A file that cannot be parsed keeps its previous objects: a half-written file must not open or close traffic.
/// Whatever a file holds, the reader goes on: a file that is refused (unreadable, invalid, too large, too deep,
/// not a regular file) is logged, counted in <see cref="RefusedFiles"/> and skipped; a FIFO or device is never
/// opened. Only the folder itself failing (removed, unreadable) ends <see cref="RunAsync"/>, with the error, so
/// the caller can restart it and say the source is down.
/// </summary>
public sealed partial class ManifestFolderSource : IResourceSource, IDisposable
{
    /// <summary>The label the API server puts on every namespace (Kubernetes 1.22+); namespace selectors rely on it.</summary>
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    private static readonly string[] Patterns = ["*.yaml", "*.yml", "*.json"];

    /// <summary>The agent reads files of at most 16 MiB and a million nodes: bounded memory for any folder content.</summary>
    public static readonly ManifestLimits DefaultLimits = ManifestLimits.Default with { MaxBytes = 16L << 20, MaxNodes = 1_000_000 };

    private readonly ILogger _logger;
    private readonly TimeSpan _pollInterval;
    private readonly ManifestLimits _limits;
    private long _refusedFiles;
    private int _syncs;
    private readonly Dictionary<string, FileState> _files = new(StringComparer.Ordinal);
    private Dictionary<string, (IKubernetesObject<V1ObjectMeta> Object, string Json)> _current = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _wake = new(0);
    private FileSystemWatcher? _watcher;

    public ManifestFolderSource(string directory, ILogger logger, TimeSpan? pollInterval = null, ManifestLimits? limits = null)
    {
        Directory = Path.GetFullPath(directory);
        _logger = logger;
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(2);
        _limits = limits ?? DefaultLimits;
    }

    public string Directory { get; }

    public event Action<ResourceEvent>? Changed;

    public Task Synced => _synced.Task;

    /// <summary>Completed scans of the folder.</summary>
    public int Syncs => Volatile.Read(ref _syncs);

    /// <summary>Files refused so far (each version of a file once).</summary>
    public long RefusedFiles => Interlocked.Read(ref _refusedFiles);

    /// <summary>Raised for each refused file, with the file and the reason (which names file, line and field).</summary>
    public event Action<string, string>? FileRefused;

    /// <summary>Files that could not be parsed on the last scan, with the reason.</summary>
    public IReadOnlyDictionary<string, string> Errors => _errors;

    private volatile IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(Directory))
            throw new DirectoryNotFoundException($"manifests folder '{Directory}' does not exist");
        // RunAsync may be run again after it failed: the old watcher goes with the old run.
        _watcher?.Dispose();
        try
        {
            _watcher = new FileSystemWatcher(Directory) { IncludeSubdirectories = false, EnableRaisingEvents = true };
            _watcher.Changed += (_, _) => Wake();
            _watcher.Created += (_, _) => Wake();
            _watcher.Deleted += (_, _) => Wake();
            _watcher.Renamed += (_, _) => Wake();
            _watcher.Error += (_, _) => Wake();
        }
        // OutOfMemoryException too: it is how the runtime says the watcher's thread could not start (Thread.StartCore),
        // as when the process is out of descriptors. Polling still sees every change: the watcher only makes it sooner,
        // and a source restart (which gets a watcher again) must not stop the agent.
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or ArgumentException or OutOfMemoryException)
        {
            _watcher = null;
            Log.WatcherUnavailable(_logger, Directory, e.Message);
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            Scan();
            Interlocked.Increment(ref _syncs);
            _synced.TrySetResult();
            try
            {
                await _wake.WaitAsync(_pollInterval, cancellationToken).ConfigureAwait(false);
                // Editors write a file in several steps; let them finish before reading.
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
                while (_wake.CurrentCount > 0)
                    _wake.Wait(0, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private void Wake() => _wake.Release();

    public override string ToString() => $"manifests folder {Directory}";

    /// <summary>Reads the folder once and raises the differences from the previous scan.</summary>
    internal void Scan()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!System.IO.Directory.Exists(Directory))
            throw new DirectoryNotFoundException($"manifests folder '{Directory}' does not exist any more");
        foreach (var path in Patterns.SelectMany(p => System.IO.Directory.EnumerateFiles(Directory, p)).Order(StringComparer.Ordinal))
        {
            seen.Add(path);
            _files.TryGetValue(path, out var state);
            ManifestFileInfo info;
            try
            {
                info = ManifestFile.Inspect(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone between the listing and now (an editor's rename): the next scan sees what is there.
                seen.Remove(path);
                continue;
            }
            if (state is not null && state.Length == info.Length && state.LastWrite == info.LastWrite && state.Regular == info.IsRegularFile)
                continue;
            try
            {
                var text = ManifestFile.ReadText(path, _limits.MaxBytes);
                var objects = ManifestDocuments.Parse(text, Path.GetFileName(path), _limits);
                _files[path] = new FileState(info.Length, info.LastWrite, info.IsRegularFile, objects, null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever is wrong with one file (its type, size, syntax, depth, aliases, an object no API server
                // would accept, or a bug this file is the first to find) costs that file only.
                var reason = e is ManifestException or ManifestFileException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                Log.FileRefused(_logger, path, reason);
                _files[path] = new FileState(info.Length, info.LastWrite, info.IsRegularFile, state?.Objects ?? [], reason);
                Interlocked.Increment(ref _refusedFiles);
                FileRefused?.Invoke(path, reason);
            }
        }
        foreach (var gone in _files.Keys.Where(k => !seen.Contains(k)).ToList())
            _files.Remove(gone);
        _errors = _files.Where(f => f.Value.Error is not null).ToDictionary(f => f.Key, f => f.Value.Error!);

        var next = new Dictionary<string, (IKubernetesObject<V1ObjectMeta>, string)>(StringComparer.Ordinal);
        foreach (var obj in _files.Values.SelectMany(f => f.Objects))
        {
            var normalised = Normalise(obj);
            next[Key(normalised)] = (normalised, KubernetesJson.Serialize(normalised));
        }
        foreach (var ns in next.Values.Select(v => v.Item1.Metadata.NamespaceProperty).Where(n => !string.IsNullOrEmpty(n)).Distinct().ToList())
        {
            if (next.ContainsKey(Key(typeof(V1Namespace), null, ns)))
                continue;
            // Embedded mode often has pods and policies without a Namespace manifest; the API server would
            // have the namespace (with its name label), so the store does too.
            var implicitNamespace = Normalise(new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = ns } });
            next[Key(implicitNamespace)] = (implicitNamespace, KubernetesJson.Serialize(implicitNamespace));
        }

        foreach (var (key, (obj, json)) in next)
        {
            if (!_current.TryGetValue(key, out var old))
                Changed?.Invoke(new ResourceEvent(ResourceEventType.Added, obj));
            else if (old.Json != json)
                Changed?.Invoke(new ResourceEvent(ResourceEventType.Modified, obj));
        }
        foreach (var (key, old) in _current)
            if (!next.ContainsKey(key))
                Changed?.Invoke(new ResourceEvent(ResourceEventType.Deleted, old.Object));
        _current = next;
    }

    /// <summary>Fills in what the API server would: the default namespace, and the namespace name label.</summary>
    private static IKubernetesObject<V1ObjectMeta> Normalise(IKubernetesObject<V1ObjectMeta> obj)
    {
        if (obj is V1Namespace ns)
        {
            ns.Metadata.Labels ??= new Dictionary<string, string>();
            ns.Metadata.Labels[NamespaceNameLabel] = ns.Metadata.Name;
        }
        else if (ResourceKinds.Of(obj) is { Namespaced: true } && string.IsNullOrEmpty(obj.Metadata.NamespaceProperty))
        {
            obj.Metadata.NamespaceProperty = "default";
        }
        return obj;
    }

    private static string Key(IKubernetesObject<V1ObjectMeta> obj) => Key(obj.GetType(), obj.Metadata.NamespaceProperty, obj.Metadata.Name);

    private static string Key(Type type, string? ns, string? name) => $"{type.Name}:{ns}/{name}";

    public void Dispose()
    {
        _watcher?.Dispose();
        _wake.Dispose();
    }

    private sealed record FileState(long Length, DateTime LastWrite, bool Regular, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects, string? Error);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Manifest {Path} refused; keeping its previous objects: {Error}")]
        public static partial void FileRefused(ILogger logger, string path, string error);

        [LoggerMessage(2, LogLevel.Warning, "Cannot watch {Directory} for changes ({Error}); polling instead")]
        public static partial void WatcherUnavailable(ILogger logger, string directory, string error);
    }
}
