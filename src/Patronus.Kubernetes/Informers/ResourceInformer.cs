using System.Net;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Patronus.Kubernetes.Kinds;

namespace Patronus.Kubernetes.Informers;

/// <summary>
/// Keeps a local view of one resource collection in step with the API server, the way client-go's reflector
/// does: a paged list, then a watch from the list's resourceVersion (with bookmarks, which only advance the
/// resourceVersion). A 410 Gone — as an HTTP status or as an ERROR event — means the server no longer holds
/// history that old: re-list, and raise synthetic deletes for objects that vanished meanwhile. Dropped
/// connections re-watch from the last resourceVersion after an exponential backoff with jitter, and the
/// whole collection is re-listed every <see cref="ResourceInformerOptions.ResyncPeriod"/>.
/// </summary>
public sealed partial class ResourceInformer<T, TList> : IResourceSource
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IItems<T>, IMetadata<V1ListMeta>
{
    private readonly ApiConnection _connection;
    private readonly ResourceKind _kind;
    private readonly ResourceInformerOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<string, T> _known = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _consecutiveFailures;
    private bool _absent;

    public ResourceInformer(ApiConnection connection, ResourceKind<T, TList> kind, ResourceInformerOptions options, ILogger logger)
    {
        _connection = connection;
        _kind = kind;
        _options = options;
        _logger = logger;
    }

    public event Action<ResourceEvent>? Changed;

    public Task Synced => _synced.Task;

    public ResourceKind Kind => _kind;

    /// <summary>The resourceVersion the next watch starts from.</summary>
    public string? LastResourceVersion { get; private set; }

    /// <summary>Complete lists done so far (the first, re-lists after 410 and resyncs).</summary>
    public int ListCount { get; private set; }

    public int Syncs => ListCount;

    public override string ToString() => $"informer {_kind.Kind}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var needList = true;
        var lastList = DateTime.UtcNow;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList || (_options.ResyncPeriod > TimeSpan.Zero && DateTime.UtcNow - lastList >= _options.ResyncPeriod))
                {
                    var served = await ListAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                    lastList = DateTime.UtcNow;
                    _consecutiveFailures = 0;
                    _synced.TrySetResult();
                    if (!served)
                    {
                        // Nothing to watch until the CRD is installed: look again later.
                        await Task.Delay(_options.AbsentKindRecheck, cancellationToken).ConfigureAwait(false);
                        needList = true;
                        continue;
                    }
                }

                var untilResync = _options.ResyncPeriod > TimeSpan.Zero
                    ? _options.ResyncPeriod - (DateTime.UtcNow - lastList)
                    : Timeout.InfiniteTimeSpan;
                if (untilResync != Timeout.InfiniteTimeSpan && untilResync <= TimeSpan.Zero)
                    continue;
                var outcome = await WatchAsync(untilResync, cancellationToken).ConfigureAwait(false);
                if (outcome == WatchOutcome.Gone)
                {
                    Log.WatchExpired(_logger, _kind.Kind, LastResourceVersion);
                    needList = true;
                }
                else if (outcome == WatchOutcome.ClosedWithoutEvents)
                {
                    // A server that closes every watch at once must not be hammered.
                    await BackoffAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (ApiStatusException e) when (e.IsGone && !needList)
            {
                Log.WatchExpired(_logger, _kind.Kind, LastResourceVersion);
                needList = true;
            }
            catch (ApiStatusException e) when (e.StatusCode == HttpStatusCode.NotFound && _kind.Optional)
            {
                // The CRD went away under a watch: the next list finds the kind not served and empties it.
                Log.ConnectionFailed(_logger, _kind.Kind, e.Message);
                needList = true;
                await BackoffAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or ApiStatusException or JsonException or OperationCanceledException)
            {
                Log.ConnectionFailed(_logger, _kind.Kind, e.Message);
                await BackoffAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Something no one foresaw (a watch line of another shape, an object the client's models
                // choke on): the stream position can no longer be trusted, so start again from a full list
                // rather than stop watching for good.
                Log.UnexpectedFailure(_logger, _kind.Kind, e.GetType().Name, e.Message);
                needList = true;
                await BackoffAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Lists the collection; false when an optional kind is not served (404), which lists as empty.</summary>
    private async Task<bool> ListAsync(CancellationToken cancellationToken)
    {
        var listed = new Dictionary<string, T>(StringComparer.Ordinal);
        string? continueToken = null;
        string? resourceVersion;
        var restarts = 0;
        var notServed = false;
        while (true)
        {
            var query = $"{_kind.CollectionPath}?limit={_options.PageSize}";
            if (continueToken is not null)
                query += "&continue=" + Uri.EscapeDataString(continueToken);
            using var response = await _connection.GetAsync(query, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Gone && continueToken is not null && ++restarts <= 3)
            {
                // The continue token expired between pages: the pages so far may be from another snapshot. Start over.
                listed.Clear();
                continueToken = null;
                resourceVersion = null;
                continue;
            }
            if (response.StatusCode == HttpStatusCode.NotFound && _kind.Optional)
            {
                if (!_absent)
                    Log.KindNotServed(_logger, _kind.Kind, _kind.CollectionPath);
                _absent = true;
                notServed = true;
                listed.Clear();
                resourceVersion = null;
                break;
            }
            await ApiConnection.EnsureSuccessAsync(response, $"list {_kind.Kind}", cancellationToken).ConfigureAwait(false);
            var page = KubernetesJson.Deserialize<TList>(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false))
                ?? throw new JsonException($"list {_kind.Kind}: empty body");
            foreach (var item in page.Items ?? [])
                listed[Key(item)] = item;
            resourceVersion = page.Metadata?.ResourceVersion;
            continueToken = string.IsNullOrEmpty(page.Metadata?.ContinueProperty) ? null : page.Metadata.ContinueProperty;
            if (continueToken is null)
                break;
        }

        foreach (var (key, item) in listed)
        {
            if (!_known.TryGetValue(key, out var old))
                Raise(ResourceEventType.Added, item);
            else if (old.Metadata?.ResourceVersion != item.Metadata?.ResourceVersion || item.Metadata?.ResourceVersion is null)
                Raise(ResourceEventType.Modified, item);
            _known[key] = item;
        }
        foreach (var key in _known.Keys.Where(k => !listed.ContainsKey(k)).ToList())
        {
            Raise(ResourceEventType.Deleted, _known[key]);
            _known.Remove(key);
        }
        LastResourceVersion = resourceVersion;
        ListCount++;
        if (notServed)
            return false;
        _absent = false;
        Log.Listed(_logger, _kind.Kind, listed.Count, resourceVersion);
        return true;
    }

    private enum WatchOutcome
    {
        Closed,
        ClosedWithoutEvents,
        Gone,
    }

    private async Task<WatchOutcome> WatchAsync(TimeSpan untilResync, CancellationToken cancellationToken)
    {
        var timeoutSeconds = (int)Math.Max(1, _options.WatchTimeout.TotalSeconds);
        var query = $"{_kind.CollectionPath}?watch=true&allowWatchBookmarks=true&timeoutSeconds={timeoutSeconds}";
        if (!string.IsNullOrEmpty(LastResourceVersion))
            query += "&resourceVersion=" + Uri.EscapeDataString(LastResourceVersion);

        using var resync = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (untilResync != Timeout.InfiniteTimeSpan)
            resync.CancelAfter(untilResync);
        try
        {
            using var response = await _connection.GetAsync(query, resync.Token).ConfigureAwait(false);
            await ApiConnection.EnsureSuccessAsync(response, $"watch {_kind.Kind}", resync.Token).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(resync.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            var events = 0;
            while (await reader.ReadLineAsync(resync.Token).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                    continue;
                if (!Apply(line))
                    return WatchOutcome.Gone;
                events++;
                _consecutiveFailures = 0;
            }
            return events == 0 ? WatchOutcome.ClosedWithoutEvents : WatchOutcome.Closed;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The resync period ran out mid-watch: the loop re-lists.
            return WatchOutcome.Closed;
        }
    }

    /// <summary>Applies one watch event line; false when the server says the resourceVersion is gone.</summary>
    private bool Apply(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var type = root.GetProperty("type").GetString();
        var obj = root.GetProperty("object");
        switch (type)
        {
            case "ADDED":
            case "MODIFIED":
            case "DELETED":
                var item = KubernetesJson.Deserialize<T>(obj.GetRawText())
                    ?? throw new JsonException($"watch {_kind.Kind}: {type} event without an object");
                var key = Key(item);
                if (type == "DELETED")
                {
                    _known.Remove(key);
                    Raise(ResourceEventType.Deleted, item);
                }
                else
                {
                    var existed = _known.ContainsKey(key);
                    _known[key] = item;
                    Raise(existed ? ResourceEventType.Modified : ResourceEventType.Added, item);
                }
                if (item.Metadata?.ResourceVersion is { Length: > 0 } rv)
                    LastResourceVersion = rv;
                return true;
            case "BOOKMARK":
                if (obj.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("resourceVersion", out var version) && version.GetString() is { Length: > 0 } bookmark)
                {
                    LastResourceVersion = bookmark;
                    Log.Bookmark(_logger, _kind.Kind, bookmark);
                }
                return true;
            case "ERROR":
                var status = KubernetesJson.Deserialize<V1Status>(obj.GetRawText());
                if (status?.Code == (int)HttpStatusCode.Gone)
                    return false;
                throw new ApiStatusException((HttpStatusCode)(status?.Code ?? 500), $"watch {_kind.Kind}: {status?.Reason} {status?.Message}".Trim());
            default:
                throw new JsonException($"watch {_kind.Kind}: unknown event type '{type}'");
        }
    }

    private void Raise(ResourceEventType type, T item) => Changed?.Invoke(new ResourceEvent(type, item));

    private async Task BackoffAsync(CancellationToken cancellationToken)
    {
        var exponent = Math.Min(_consecutiveFailures++, 16);
        var ceiling = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, exponent));
        // Full jitter in the upper half: nodes that lost the API server together do not return together.
        var delay = TimeSpan.FromMilliseconds(ceiling * (0.5 + Random.Shared.NextDouble() / 2));
        Log.BackingOff(_logger, _kind.Kind, delay.TotalMilliseconds);
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
    }

    private static string Key(T item) => $"{item.Metadata?.NamespaceProperty}/{item.Metadata?.Name}";

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listed {Kind}: {Count} objects at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string kind, int count, string? resourceVersion);

        [LoggerMessage(2, LogLevel.Information, "Watch of {Kind} expired at resourceVersion {ResourceVersion} (410 Gone); re-listing")]
        public static partial void WatchExpired(ILogger logger, string kind, string? resourceVersion);

        [LoggerMessage(3, LogLevel.Warning, "Connection for {Kind} failed: {Error}")]
        public static partial void ConnectionFailed(ILogger logger, string kind, string error);

        [LoggerMessage(4, LogLevel.Debug, "Retrying {Kind} in {DelayMs} ms")]
        public static partial void BackingOff(ILogger logger, string kind, double delayMs);

        [LoggerMessage(5, LogLevel.Debug, "Bookmark for {Kind} at resourceVersion {ResourceVersion}")]
        public static partial void Bookmark(ILogger logger, string kind, string resourceVersion);

        [LoggerMessage(7, LogLevel.Information, "{Kind} is not served by the API server ({Path}: 404; its CRD is not installed): none until it is")]
        public static partial void KindNotServed(ILogger logger, string kind, string path);

        [LoggerMessage(6, LogLevel.Error, "Watch of {Kind} failed unexpectedly ({Type}: {Error}); re-listing")]
        public static partial void UnexpectedFailure(ILogger logger, string kind, string type, string error);
    }
}
