using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Patronus.Kubernetes.Kinds;
using Patronus.Kubernetes.Mapping;
using YamlDotNet.Core;

namespace Patronus.Kubernetes.Manifests;

/// <summary>
/// Reads Kubernetes manifests as <c>kubectl</c> writes them: YAML or JSON, one object, several YAML documents,
/// or a <c>List</c> (as <c>kubectl get -o yaml</c> prints). The kinds of the set's registry are kept
/// (<see cref="ResourceKinds"/>: every kind the agent watches); other kinds are skipped. A bad document or object is reported and skipped; the rest of the file still loads.
/// </summary>
/// <remarks>
/// Documents are split before parsing so that a YAML syntax error loses only its own document. Each object
/// is turned into JSON and deserialized with KubernetesClient's <see cref="KubernetesJson"/>, so field names
/// and types follow the client's models exactly.
/// </remarks>
public static partial class ManifestLoader
{
    public static ManifestSet LoadFiles(IEnumerable<string> paths, ManifestLimits? limits = null)
    {
        var set = new ManifestSet();
        foreach (var path in paths)
            LoadFile(path, set, limits);
        return set;
    }

    /// <summary>Loads one file, or every *.yaml, *.yml and *.json file of a directory (not recursive, in name order).</summary>
    public static void LoadFile(string path, ManifestSet into, ManifestLimits? limits = null)
    {
        limits ??= ManifestLimits.Default;
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
                LoadFile(file, into, limits);
            return;
        }
        string text;
        try
        {
            text = ManifestFile.ReadText(path, limits.MaxBytes);
        }
        catch (ManifestFileException e)
        {
            into.Errors.Add(new ObjectError(path, null, null, null, null, e.Message));
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            into.Errors.Add(new ObjectError(path, null, null, null, null, $"cannot read file: {e.Message}"));
            return;
        }
        LoadText(text, path, into, limits);
    }

    public static void LoadText(string text, string source, ManifestSet into, ManifestLimits? limits = null)
    {
        limits ??= ManifestLimits.Default;
        if (text.Length > limits.MaxBytes || Encoding.UTF8.GetByteCount(text) > limits.MaxBytes)
        {
            into.Errors.Add(new ObjectError(source, null, null, null, null, $"is larger than {limits.MaxBytes} bytes; refused"));
            return;
        }
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = limits.MaxDepth });
            }
            catch (JsonException e)
            {
                into.Errors.Add(new ObjectError(source, null, null, null, null, $"not valid JSON: {e.Message}"));
                return;
            }
            AddObject(node, $"{source}:1", into);
            return;
        }

        foreach (var (document, line) in SplitDocuments(text))
        {
            var location = $"{source}:{line}";
            List<JsonNode?> documents;
            try
            {
                documents = YamlToJson.ReadDocuments(document, limits);
            }
            catch (YamlException e)
            {
                into.Errors.Add(new ObjectError($"{source}:{line + (int)e.Start.Line - 1}", null, null, null, null, $"not valid YAML: {e.InnerException?.Message ?? e.Message}"));
                continue;
            }
            catch (ManifestTooComplexException e)
            {
                into.Errors.Add(new ObjectError($"{source}:{line + e.Line - 1}", null, null, null, null, e.Message));
                continue;
            }
            foreach (var doc in documents)
                AddObject(doc, location, into);
        }
    }

    private static IEnumerable<(string Text, int Line)> SplitDocuments(string text)
    {
        var lines = text.Split('\n');
        var current = new List<string>();
        var start = 1;
        for (var i = 0; i < lines.Length; i++)
        {
            if (DocumentSeparator().IsMatch(lines[i]))
            {
                if (current.Count > 0)
                    yield return (string.Join('\n', current), start);
                current.Clear();
                start = i + 2;
                continue;
            }
            current.Add(lines[i]);
        }
        if (current.Count > 0)
            yield return (string.Join('\n', current), start);
    }

    private static void AddObject(JsonNode? node, string location, ManifestSet into, string? impliedKind = null)
    {
        if (node is null)
            return;
        if (node is JsonArray array)
        {
            foreach (var item in array)
                AddObject(item, location, into, impliedKind);
            return;
        }
        if (node is not JsonObject obj)
        {
            into.Errors.Add(new ObjectError(location, null, null, null, null, "expected a Kubernetes object (a mapping with apiVersion and kind)"));
            return;
        }

        var kind = Text(obj["kind"]) ?? impliedKind;
        var apiVersion = Text(obj["apiVersion"]);
        var metadata = obj["metadata"] as JsonObject;
        var name = Text(metadata?["name"]);
        var ns = Text(metadata?["namespace"]);

        if (kind is not null && kind.EndsWith("List", StringComparison.Ordinal) && obj["items"] is JsonArray items)
        {
            var itemKind = kind == "List" ? null : kind[..^"List".Length];
            foreach (var item in items)
                AddObject(item, location, into, itemKind);
            return;
        }
        if (kind is null)
        {
            into.Errors.Add(new ObjectError(location, null, ns, name, "kind", "is missing"));
            return;
        }
        // Kinds the agent does not watch (Deployments, CRDs it has no use for...) are skipped.
        if (into.Kinds.FirstOrDefault(k => k.Kind == kind) is { } registered)
            Deserialize(obj, registered, apiVersion, location, into);
    }

    private static void Deserialize(JsonObject obj, ResourceKind kind, string? apiVersion, string location, ManifestSet into)
    {
        var metadata = obj["metadata"] as JsonObject;
        var name = Text(metadata?["name"]);
        var ns = Text(metadata?["namespace"]);
        if (apiVersion is not null && apiVersion != kind.ApiVersion)
        {
            into.Errors.Add(new ObjectError(location, kind.Kind, ns, name, "apiVersion", $"\"{apiVersion}\" is not supported (expected {kind.ApiVersion})"));
            return;
        }
        try
        {
            var value = kind.Deserialize(obj.ToJsonString());
            if (value is null)
                return;
            // Items of a List may leave kind and apiVersion to the list; the object itself should carry them.
            value.Kind ??= kind.Kind;
            value.ApiVersion ??= kind.ApiVersion;
            into.Add(value, location);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NotSupportedException or ArgumentException or OverflowException)
        {
            var field = (e as JsonException)?.Path?.TrimStart('$', '.');
            into.Errors.Add(new ObjectError(location, kind.Kind, ns, name, string.IsNullOrEmpty(field) ? null : field, $"cannot be read: {FirstLine(e.Message)}"));
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.Split('\n')[0];
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    [GeneratedRegex(@"^---(\s.*)?\r?$")]
    private static partial Regex DocumentSeparator();
}
