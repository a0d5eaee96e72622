using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Patronus.Kubernetes.Tests.Informers;

/// <summary>
/// An in-process Kubernetes API server for the list/watch wire format: paged lists with limit/continue
/// and metadata.resourceVersion, watches that stream {"type","object"} lines (ADDED, MODIFIED, DELETED,
/// BOOKMARK, ERROR), 410 Gone for resourceVersions older than its compacted history (as an HTTP status or
/// as an ERROR event), and connections it can drop in the middle of a line. It also serves the object verbs
/// of a registered collection's namespaced or cluster paths (GET, POST, PUT, merge PATCH, DELETE, and the
/// status subresource where <see cref="FakeCollection.StatusSubresource"/> says so), with the API server's
/// optimistic concurrency (409 on a stale resourceVersion) and its status codes; each write is a watch event.
/// </summary>
public sealed class FakeApiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, FakeCollection> _collections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private long _resourceVersion = 100;

    public FakeApiServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUri.ToString());
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    public Uri BaseUri { get; }

    /// <summary>Every request's path and query, in arrival order.</summary>
    public List<string> Requests { get; } = [];

    public FakeCollection Collection(string path, string listKind, string apiVersion)
    {
        lock (_lock)
        {
            if (!_collections.TryGetValue(path, out var collection))
                _collections[path] = collection = new FakeCollection(this, listKind, apiVersion);
            return collection;
        }
    }

    public FakeCollection Pods => Collection("api/v1/pods", "PodList", "v1");

    internal object Lock => _lock;

    internal long NextResourceVersion() => ++_resourceVersion;

    internal long CurrentResourceVersion => _resourceVersion;

    public string[] WatchRequests() { lock (_lock) return Requests.Where(r => r.Contains("watch=true")).ToArray(); }

    public string[] ListRequests() { lock (_lock) return Requests.Where(r => !r.Contains("watch=true")).ToArray(); }

    /// <summary>Every write (POST, PUT, PATCH, DELETE) as "METHOD path", in arrival order.</summary>
    public List<string> Writes { get; } = [];

    public string[] WritesSoFar() { lock (_lock) return [.. Writes]; }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => Serve(context));
        }
    }

    private async Task Serve(HttpListenerContext context)
    {
        var url = context.Request.Url!;
        var path = url.AbsolutePath.Trim('/');
        var query = System.Web.HttpUtility.ParseQueryString(url.Query);
        var method = context.Request.HttpMethod;
        FakeCollection? collection;
        ObjectPath? target = null;
        lock (_lock)
        {
            Requests.Add(url.PathAndQuery.TrimStart('/'));
            if (method != "GET")
                Writes.Add($"{method} {path}");
            if (!_collections.TryGetValue(path, out collection) || method != "GET")
            {
                collection = null;
                target = ObjectPath.Parse(path);
                if (target is not null && !_collections.TryGetValue(target.Collection, out collection))
                    collection = null;
            }
        }
        try
        {
            if (collection is not null && target is not null)
                await collection.ServeObject(context, method, target);
            else if (collection is null)
                await Write(context.Response, 404, Status(404, "NotFound", $"no collection {path}"));
            else if (query["watch"] == "true")
                await collection.ServeWatch(context, query["resourceVersion"], _stop.Token);
            else
                await collection.ServeList(context, query["limit"], query["continue"]);
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    internal static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    internal static async Task Write(HttpListenerResponse response, int status, JsonNode body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }

    /// <summary>A request's object path: the all-namespaces collection it belongs to, the namespace, the name and a subresource.</summary>
    internal sealed record ObjectPath(string Collection, string? Namespace, string? Name, string? Subresource)
    {
        public static ObjectPath? Parse(string path)
        {
            var segments = path.Split('/');
            var prefix = segments[0] == "api" ? 2 : segments[0] == "apis" ? 3 : -1;
            if (prefix < 0 || segments.Length <= prefix)
                return null;
            var rest = segments[prefix..];
            string? ns = null;
            if (rest[0] == "namespaces" && rest.Length >= 3)
            {
                ns = rest[1];
                rest = rest[2..];
            }
            if (rest.Length > 3)
                return null;
            return new ObjectPath(string.Join('/', segments[..prefix].Append(rest[0])), ns, rest.ElementAtOrDefault(1), rest.ElementAtOrDefault(2));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        lock (_lock)
            foreach (var collection in _collections.Values)
                collection.DropWatches(midLine: false);
        _listener.Close();
    }
}

/// <summary>One resource collection with its history of changes, as etcd would keep it.</summary>
public sealed class FakeCollection(FakeApiServer server, string listKind, string apiVersion)
{
    private readonly SortedDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly List<(long ResourceVersion, string Line)> _history = [];
    private readonly List<Channel<WatchCommand>> _watches = [];
    private long _compactedThrough;

    /// <summary>When true, a watch from a compacted resourceVersion gets HTTP 410; otherwise a 200 with an ERROR event, as etcd3-backed servers do.</summary>
    public bool GoneAsHttpStatus { get; set; }

    public int OpenWatches { get { lock (server.Lock) return _watches.Count; } }

    /// <summary>The next list request that carries a continue token gets 410 Expired, as when the token outlived etcd's compaction.</summary>
    public bool ExpireNextContinue { get; set; }

    public void Add(JsonObject obj) => Change("ADDED", obj, remove: false, record: true);

    public void Modify(JsonObject obj) => Change("MODIFIED", obj, remove: false, record: true);

    public void Delete(JsonObject obj) => Change("DELETED", obj, remove: true, record: true);

    /// <summary>Changes the collection without any watcher hearing of it: only a re-list can find out.</summary>
    public void AddUnseen(JsonObject obj) => Change("ADDED", obj, remove: false, record: false);

    public void DeleteUnseen(JsonObject obj) => Change("DELETED", obj, remove: true, record: false);

    /// <summary>Forgets all history: watches from any resourceVersion so far get 410 Gone.</summary>
    public void Compact()
    {
        lock (server.Lock)
        {
            _history.Clear();
            _compactedThrough = server.CurrentResourceVersion;
        }
    }

    public void Bookmark(long? resourceVersion = null)
    {
        lock (server.Lock)
        {
            var rv = resourceVersion ?? server.NextResourceVersion();
            var line = new JsonObject
            {
                ["type"] = "BOOKMARK",
                ["object"] = new JsonObject { ["kind"] = ItemKind, ["apiVersion"] = apiVersion, ["metadata"] = new JsonObject { ["resourceVersion"] = rv.ToString() } },
            }.ToJsonString();
            Broadcast(new WatchCommand(line, Drop: false, MidLine: false));
        }
    }

    /// <summary>Tells open watches their resourceVersion is too old, as an ERROR event carrying a 410 Status.</summary>
    public void SendGone()
    {
        lock (server.Lock)
        {
            var line = new JsonObject { ["type"] = "ERROR", ["object"] = FakeApiServer.Status(410, "Expired", "too old resource version") }.ToJsonString();
            Broadcast(new WatchCommand(line, Drop: false, MidLine: false));
        }
    }

    /// <summary>Sends a line of the server's choosing to open watches: garbage a broken proxy or server might send.</summary>
    public void SendRaw(string line)
    {
        lock (server.Lock)
            Broadcast(new WatchCommand(line, Drop: false, MidLine: false));
    }

    /// <summary>Cuts open watch connections, by default after sending half of an event.</summary>
    public void DropWatches(bool midLine = true)
    {
        lock (server.Lock)
            Broadcast(new WatchCommand(null, Drop: true, MidLine: midLine));
    }

    private string ItemKind => listKind[..^"List".Length];

    /// <summary>
    /// Whether the kind has a status subresource (a CRD with <c>subresources: {status: {}}</c>): then writes to the
    /// object itself leave its status alone (a create drops it), and only writes to /status change it.
    /// </summary>
    public bool StatusSubresource { get; set; }

    /// <summary>Writes this says yes to (method, body) are answered 503, as by an API server a client cannot get through to.</summary>
    public Func<string, JsonObject?, bool>? Refuse { get; set; }

    /// <summary>The stored object (a copy), or null.</summary>
    public JsonObject? Get(string? ns, string name)
    {
        lock (server.Lock)
            return _objects.TryGetValue($"{ns}/{name}", out var obj) ? (JsonObject)obj.DeepClone() : null;
    }

    public JsonObject[] Items() { lock (server.Lock) return _objects.Values.Select(o => (JsonObject)o.DeepClone()).ToArray(); }

    internal async Task ServeObject(HttpListenerContext context, string method, FakeApiServer.ObjectPath target)
    {
        JsonObject? body = null;
        if (context.Request.HasEntityBody)
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            body = JsonNode.Parse(await reader.ReadToEndAsync()) as JsonObject;
        }
        int code;
        JsonObject response;
        try
        {
            (code, response) = Handle(method, target, body, context.Request.ContentType);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or NullReferenceException or KeyNotFoundException)
        {
            // The fake's own bug, or a body it cannot take: an answer the client reports, not a request left hanging.
            (code, response) = (500, FakeApiServer.Status(500, "InternalError", $"fake API server: {e}"));
        }
        await FakeApiServer.Write(context.Response, code, response);
    }

    private (int Code, JsonObject Body) Handle(string method, FakeApiServer.ObjectPath target, JsonObject? body, string? contentType)
    {
        var status = target.Subresource == "status";
        if (method != "GET" && Refuse?.Invoke(method, body) == true)
            return (503, FakeApiServer.Status(503, "ServiceUnavailable", "refused by the test"));
        if (target.Subresource is not null && (!status || !StatusSubresource))
            return (404, FakeApiServer.Status(404, "NotFound", $"the server could not find the requested resource ({target.Subresource})"));
        lock (server.Lock)
        {
            var key = $"{target.Namespace}/{target.Name}";
            var stored = target.Name is null ? null : _objects.GetValueOrDefault(key);
            switch (method)
            {
                case "GET" when target.Name is not null:
                    return stored is null ? NotFound(target) : (200, (JsonObject)stored.DeepClone());
                case "POST" when target.Name is null:
                {
                    if (body?["metadata"]?["name"] is not JsonValue nameValue || (string?)nameValue is not { Length: > 0 } name)
                        return (422, FakeApiServer.Status(422, "Invalid", "metadata.name: Required value"));
                    key = $"{target.Namespace}/{name}";
                    if (_objects.ContainsKey(key))
                        return (409, FakeApiServer.Status(409, "AlreadyExists", $"{ItemKind} \"{name}\" already exists"));
                    var created = (JsonObject)body.DeepClone();
                    var metadata = (JsonObject)created["metadata"]!;
                    if (target.Namespace is not null)
                        metadata["namespace"] = target.Namespace;
                    metadata["uid"] = Guid.NewGuid().ToString();
                    metadata["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
                    metadata["generation"] = 1;
                    if (StatusSubresource)
                        created.Remove("status");
                    Change("ADDED", created, remove: false, record: true);
                    return (201, (JsonObject)_objects[key].DeepClone());
                }
                case "PUT" when target.Name is not null:
                {
                    if (stored is null)
                        return NotFound(target);
                    if (body is null)
                        return (400, FakeApiServer.Status(400, "BadRequest", "no body"));
                    if ((string?)body["metadata"]?["resourceVersion"] is { Length: > 0 } version && version != (string?)stored["metadata"]!["resourceVersion"])
                        return Conflict(target);
                    return Update(stored, status ? WithStatus(stored, body) : body, status);
                }
                case "PATCH" when target.Name is not null:
                {
                    if (stored is null)
                        return NotFound(target);
                    if (contentType?.Split(';')[0].Trim() != "application/merge-patch+json")
                        return (415, FakeApiServer.Status(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got {contentType})"));
                    if ((string?)body?["metadata"]?["resourceVersion"] is { Length: > 0 } version && version != (string?)stored["metadata"]!["resourceVersion"])
                        return Conflict(target);
                    var patched = (JsonObject)MergePatch(stored.DeepClone(), body)!;
                    return Update(stored, status ? WithStatus(stored, patched) : patched, status);
                }
                case "DELETE" when target.Name is not null:
                    if (stored is null)
                        return NotFound(target);
                    Change("DELETED", stored, remove: true, record: true);
                    return (200, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success" });
                default:
                    return (405, FakeApiServer.Status(405, "MethodNotAllowed", $"{method} is not supported here"));
            }
        }
    }

    /// <summary>Stores <paramref name="wanted"/> in place of <paramref name="stored"/>, keeping what the server owns (and the status, for a write to the object).</summary>
    private (int, JsonObject) Update(JsonObject stored, JsonObject wanted, bool status)
    {
        var updated = (JsonObject)wanted.DeepClone();
        var metadata = (JsonObject)updated["metadata"]!;
        var before = (JsonObject)stored["metadata"]!;
        foreach (var owned in new[] { "uid", "creationTimestamp", "namespace", "name", "generation" })
        {
            metadata.Remove(owned);
            if (before[owned] is { } value)
                metadata[owned] = value.DeepClone();
        }
        if (!status && !JsonNode.DeepEquals(stored["spec"], updated["spec"]) && long.TryParse(before["generation"]?.ToJsonString(), out var generation))
            metadata["generation"] = generation + 1;
        if (StatusSubresource && !status)
        {
            updated.Remove("status");
            if (stored["status"] is { } kept)
                updated["status"] = kept.DeepClone();
        }
        Change("MODIFIED", updated, remove: false, record: true);
        var key = $"{metadata["namespace"]}/{metadata["name"]}";
        return (200, (JsonObject)_objects[key].DeepClone());
    }

    /// <summary>A write to /status: the stored object with the status of <paramref name="body"/>.</summary>
    private static JsonObject WithStatus(JsonObject stored, JsonObject body)
    {
        var result = (JsonObject)stored.DeepClone();
        result.Remove("status");
        if (body["status"] is { } status)
            result["status"] = status.DeepClone();
        return result;
    }

    /// <summary>RFC 7386 JSON merge patch.</summary>
    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
            return patch?.DeepClone();
        var result = target as JsonObject ?? new JsonObject();
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
                result.Remove(name);
            else
                result[name] = MergePatch(result[name]?.DeepClone(), value);
        }
        return result;
    }

    private (int, JsonObject) NotFound(FakeApiServer.ObjectPath target) =>
        (404, FakeApiServer.Status(404, "NotFound", $"{ItemKind} \"{target.Name}\" not found"));

    private (int, JsonObject) Conflict(FakeApiServer.ObjectPath target) =>
        (409, FakeApiServer.Status(409, "Conflict", $"Operation cannot be fulfilled on {ItemKind} \"{target.Name}\": the object has been modified; please apply your changes to the latest version and try again"));

    private void Change(string type, JsonObject obj, bool remove, bool record)
    {
        lock (server.Lock)
        {
            var rv = server.NextResourceVersion();
            var copy = (JsonObject)obj.DeepClone();
            copy["kind"] ??= ItemKind;
            copy["apiVersion"] ??= apiVersion;
            var metadata = (JsonObject)copy["metadata"]!;
            metadata["resourceVersion"] = rv.ToString();
            var key = $"{metadata["namespace"]}/{metadata["name"]}";
            if (remove)
                _objects.Remove(key);
            else
                _objects[key] = copy;
            if (!record)
                return;
            var line = new JsonObject { ["type"] = type, ["object"] = copy.DeepClone() }.ToJsonString();
            _history.Add((rv, line));
            Broadcast(new WatchCommand(line, Drop: false, MidLine: false));
        }
    }

    private void Broadcast(WatchCommand command)
    {
        foreach (var watch in _watches)
            watch.Writer.TryWrite(command);
    }

    internal async Task ServeList(HttpListenerContext context, string? limitText, string? continueToken)
    {
        JsonObject body;
        lock (server.Lock)
        {
            if (continueToken is not null && ExpireNextContinue)
            {
                ExpireNextContinue = false;
                body = FakeApiServer.Status(410, "Expired", "The provided continue parameter is too old");
                goto expired;
            }
            var all = _objects.Values.ToList();
            var offset = continueToken is null ? 0 : int.Parse(continueToken.Split(':')[1]);
            var limit = limitText is null ? all.Count : int.Parse(limitText);
            var page = all.Skip(offset).Take(limit).ToList();
            var metadata = new JsonObject { ["resourceVersion"] = server.CurrentResourceVersion.ToString() };
            if (offset + page.Count < all.Count)
                metadata["continue"] = $"{server.CurrentResourceVersion}:{offset + page.Count}";
            var items = new JsonArray();
            foreach (var item in page)
            {
                // The API server leaves kind and apiVersion off the items of a list.
                var copy = (JsonObject)item.DeepClone();
                copy.Remove("kind");
                copy.Remove("apiVersion");
                items.Add(copy);
            }
            body = new JsonObject { ["kind"] = listKind, ["apiVersion"] = apiVersion, ["metadata"] = metadata, ["items"] = items };
        }
        await FakeApiServer.Write(context.Response, 200, body);
        return;
    expired:
        await FakeApiServer.Write(context.Response, 410, body);
    }

    internal async Task ServeWatch(HttpListenerContext context, string? resourceVersionText, CancellationToken stop)
    {
        var channel = Channel.CreateUnbounded<WatchCommand>();
        var from = long.Parse(resourceVersionText is { Length: > 0 } ? resourceVersionText : "0");
        var response = context.Response;
        List<string> replay;
        lock (server.Lock)
        {
            if (from < _compactedThrough && GoneAsHttpStatus)
            {
                replay = [];
            }
            else if (from < _compactedThrough)
            {
                replay = [new JsonObject { ["type"] = "ERROR", ["object"] = FakeApiServer.Status(410, "Expired", $"too old resource version: {from} ({_compactedThrough})") }.ToJsonString()];
            }
            else
            {
                replay = _history.Where(h => h.ResourceVersion > from).Select(h => h.Line).ToList();
                _watches.Add(channel);
            }
        }
        if (from < _compactedThrough && GoneAsHttpStatus)
        {
            await FakeApiServer.Write(response, 410, FakeApiServer.Status(410, "Expired", "too old resource version"));
            return;
        }

        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.SendChunked = true;
        var output = response.OutputStream;
        try
        {
            foreach (var line in replay)
                await WriteLine(output, line);
            if (replay.Count == 1 && replay[0].Contains("\"ERROR\""))
            {
                response.Close();
                return;
            }
            await output.FlushAsync(stop);
            await foreach (var command in channel.Reader.ReadAllAsync(stop))
            {
                if (command.Drop)
                {
                    if (command.MidLine)
                    {
                        await output.WriteAsync(Encoding.UTF8.GetBytes("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"na"), stop);
                        await output.FlushAsync(stop);
                    }
                    response.Abort();
                    return;
                }
                await WriteLine(output, command.Line!);
            }
        }
        finally
        {
            lock (server.Lock)
                _watches.Remove(channel);
        }
    }

    private static async Task WriteLine(Stream output, string line)
    {
        await output.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
        await output.FlushAsync();
    }

    private sealed record WatchCommand(string? Line, bool Drop, bool MidLine);
}

public static class FakeObjects
{
    public static JsonObject Pod(string name, string ns = "default", string ip = "10.244.1.10", params (string Key, string Value)[] labels)
    {
        var labelObject = new JsonObject();
        foreach (var (key, value) in labels)
            labelObject[key] = value;
        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = Guid.NewGuid().ToString(), ["labels"] = labelObject },
            ["spec"] = new JsonObject { ["nodeName"] = "node-a", ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }) },
            ["status"] = new JsonObject { ["phase"] = "Running", ["podIP"] = ip, ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip }) },
        };
    }
}
