using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Patronus.Kubernetes.Manifests;

namespace Patronus.Cli.Lab.ClusterState;

/// <summary>
/// A lab cluster's state: the folder of manifests its agents watch (their embedded mode), playing the API server.
/// One file per object, named after its kind, namespace and name, so creating, replacing and deleting an object
/// is writing, renaming or removing one file, and each reaches the agents as one watch event. Writes go through a
/// temporary name the agents do not read, then a rename: an agent never sees half an object.
/// </summary>
internal sealed partial class ClusterStateFolder(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>
    /// Creates or replaces the object. As the API server does, its creationTimestamp is the time it was first created:
    /// set now for a new object, kept from the stored one on a replace (whatever the manifest says); KEP-1645's conflict
    /// resolution orders exports by it.
    /// </summary>
    public void Put(IKubernetesObject<V1ObjectMeta> obj)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var file = FileOf(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
        obj.Metadata.CreationTimestamp = StoredCreation(file) ?? DateTime.UtcNow;
        var temporary = Path.Combine(Directory, $".{Path.GetFileName(file)}.tmp");
        File.WriteAllText(temporary, Content(obj, file));
        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>Writes the object only when its file would change (a controller's pass must not wake every agent for nothing).</summary>
    public bool PutIfChanged(IKubernetesObject<V1ObjectMeta> obj)
    {
        var file = FileOf(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
        obj.Metadata.CreationTimestamp = StoredCreation(file) ?? DateTime.UtcNow;
        if (File.Exists(file) && File.ReadAllText(file) == Content(obj, file))
            return false;
        Put(obj);
        return true;
    }

    /// <summary>
    /// Kinds whose status the agents keep (the MCS CRDs' status subresource): a create or replace by the user leaves the
    /// stored status alone, as the API server does, so an export's conditions (and their lastTransitionTime) outlive a
    /// `lab apply` of the same ServiceExport.
    /// </summary>
    private static readonly HashSet<string> StatusKeptByAgents = ["ServiceExport"];

    private static string Content(IKubernetesObject<V1ObjectMeta> obj, string file)
    {
        var json = KubernetesJson.Serialize(obj);
        if (!StatusKeptByAgents.Contains(obj.Kind) || !File.Exists(file))
            return json;
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))?["status"] is not { } status)
                return json;
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node["status"] = status.DeepClone();
            return node.ToJsonString();
        }
        catch (System.Text.Json.JsonException)
        {
            return json;
        }
    }

    private static DateTime? StoredCreation(string file)
    {
        if (!File.Exists(file))
            return null;
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))?["metadata"]?["creationTimestamp"] is { } at
                ? DateTime.Parse((string)at!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal)
                : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <returns>Whether the object was there.</returns>
    public bool Remove(string kind, string? ns, string name)
    {
        var file = FileOf(kind, ns, name);
        if (!File.Exists(file))
            return false;
        File.Delete(file);
        return true;
    }

    public bool Contains(string kind, string? ns, string name) => File.Exists(FileOf(kind, ns, name));

    /// <summary>Every object in the cluster, read as the agents read it.</summary>
    public ManifestSet Load()
    {
        var set = new ManifestSet();
        if (System.IO.Directory.Exists(Directory))
            ManifestLoader.LoadFile(Directory, set);
        return set;
    }

    public V1Pod? Pod(string ns, string name) =>
        Contains("Pod", ns, name) ? KubernetesJson.Deserialize<V1Pod>(File.ReadAllText(FileOf("Pod", ns, name))) : null;

    public V1Node? Node(string name) =>
        Contains("Node", null, name) ? KubernetesJson.Deserialize<V1Node>(File.ReadAllText(FileOf("Node", null, name))) : null;

    /// <summary>
    /// Why an object cannot be stored (null when it can): names as the API server accepts them (DNS subdomains,
    /// namespaces DNS labels), which also keeps every file inside the folder and every namespace name valid.
    /// </summary>
    public static string? Check(IKubernetesObject<V1ObjectMeta> obj)
    {
        var what = $"{obj.Kind} {(string.IsNullOrEmpty(obj.Metadata?.NamespaceProperty) ? "" : obj.Metadata.NamespaceProperty + "/")}{obj.Metadata?.Name}";
        if (obj.Metadata?.Name is not { Length: > 0 and <= 253 } name || !Subdomain().IsMatch(name))
            return $"{what}: metadata.name must be lower-case letters, digits, '-' and '.' (at most 253), starting and ending with a letter or digit";
        if (obj.Metadata.NamespaceProperty is { Length: > 0 } ns && (ns.Length > 63 || !Label().IsMatch(ns)))
            return $"{what}: metadata.namespace must be lower-case letters, digits and '-' (at most 63), starting and ending with a letter or digit";
        return null;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    private static partial Regex Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Label();

    /// <summary>
    /// KIND.NAMESPACE.NAME.json (KIND.NAME.json for cluster-scoped kinds). Namespaces have no dots, so no two objects
    /// share a file; very long names are shortened with a hash to stay within the file system's 255 bytes.
    /// </summary>
    private string FileOf(string kind, string? ns, string name)
    {
        var file = string.IsNullOrEmpty(ns) ? $"{kind.ToLowerInvariant()}.{name}" : $"{kind.ToLowerInvariant()}.{ns}.{name}";
        if (file.Length > 230)
            file = $"{file[..200]}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(file)))[..16]}";
        return Path.Combine(Directory, file + ".json");
    }
}
