using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Patronus.Kubernetes.Informers.ManifestFolder;

/// <summary>
/// Reads the cluster objects the agent cares about from one manifest file (YAML, possibly several documents,
/// or JSON, which is YAML too). Kinds the agent does not watch (Deployments, CRDs…) are skipped.
/// </summary>
internal static partial class ManifestDocuments
{
    [GeneratedRegex(@"^---[ \t]*(#.*)?$", RegexOptions.Multiline)]
    private static partial Regex DocumentSeparator();

    [GeneratedRegex(@"^kind:\s*[""']?([A-Za-z0-9]+)", RegexOptions.Multiline)]
    private static partial Regex KindLine();

    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Parse(string text, string fileName)
    {
        var objects = new List<IKubernetesObject<V1ObjectMeta>>();
        var documents = text.TrimStart().StartsWith('{') ? [text] : DocumentSeparator().Split(text);
        var index = 0;
        foreach (var document in documents)
        {
            index++;
            if (string.IsNullOrWhiteSpace(document) || document.TrimStart().StartsWith("#") && document.Split('\n').All(l => l.TrimStart().StartsWith('#') || l.Trim().Length == 0))
                continue;
            var kind = document.TrimStart().StartsWith('{') ? JsonKind(document, fileName) : KindLine().Match(document) is { Success: true } m ? m.Groups[1].Value : null;
            if (kind is null || !ResourceKinds.All.Any(k => k.Kind == kind))
                continue;
            List<object> parsed;
            try
            {
                parsed = KubernetesYaml.LoadAllFromString(document);
            }
            catch (Exception e)
            {
                throw new ManifestException($"{fileName}: document {index} ({kind}) is not a valid manifest: {e.Message}");
            }
            foreach (var obj in parsed)
            {
                if (obj is not IKubernetesObject<V1ObjectMeta> typed || ResourceKinds.ForObject(typed) is null)
                    continue;
                if (string.IsNullOrEmpty(typed.Metadata?.Name))
                    throw new ManifestException($"{fileName}: document {index} ({kind}) has no metadata.name");
                objects.Add(typed);
            }
        }
        return objects;
    }

    private static string? JsonKind(string json, string fileName)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.TryGetProperty("kind", out var kind) ? kind.GetString() : null;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ManifestException($"{fileName}: JSON manifest is not valid: {e.Message}");
        }
    }
}

/// <summary>A manifest that cannot be read; the message names the file and the document.</summary>
public sealed class ManifestException(string message) : Exception(message);
