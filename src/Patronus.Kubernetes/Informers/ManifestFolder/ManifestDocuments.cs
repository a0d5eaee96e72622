using k8s;
using k8s.Models;
using Patronus.Kubernetes.Manifests;

namespace Patronus.Kubernetes.Informers.ManifestFolder;

/// <summary>
/// Reads the cluster objects the agent watches from one manifest file, with the same loader as
/// `patronus policy` (YAML or JSON, several documents, `kind: List`), so the lab's agent and the offline
/// analysis see the same objects. Objects are also checked as the API server would check them before
/// storing (names, null list items, selectors, ports): a folder must not hand the agent an object no API
/// server would. A file with any unreadable document or invalid object is refused whole: the folder source
/// then keeps the objects it had from that file, rather than acting on half of an edit.
/// </summary>
internal static class ManifestDocuments
{
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Parse(string text, string fileName, ManifestLimits? limits = null)
    {
        var set = new ManifestSet();
        ManifestLoader.LoadText(text, fileName, set, limits);
        if (set.Errors.Count > 0)
            throw new ManifestException(string.Join("; ", set.Errors));
        foreach (var obj in set.Objects())
            if (string.IsNullOrEmpty(obj.Metadata?.Name))
                throw new ManifestException($"{set.Sources.GetValueOrDefault(obj, fileName)}: {obj.Kind} has no metadata.name");
        var mapped = ManifestModel.From(set);
        if (mapped.Errors.Count > 0)
            throw new ManifestException(string.Join("; ", mapped.Errors));
        return set.Objects().ToList();
    }
}

/// <summary>A manifest that cannot be read; the message names the file and the document.</summary>
public sealed class ManifestException(string message) : Exception(message);
