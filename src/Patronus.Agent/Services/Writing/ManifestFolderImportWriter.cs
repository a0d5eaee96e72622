using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Patronus.Agent.Services.Import;
using Patronus.Kubernetes.Kinds.Multicluster;

namespace Patronus.Agent.Services.Writing;

/// <summary>
/// Writes imports into the manifests folder of embedded mode (the lab's cluster state), one file per object named as the
/// lab names its objects (KIND.NAMESPACE.NAME.json), through a temporary dot-file and a rename, so a reader never sees
/// half an object. An object whose file already holds the same bytes is not written again (no needless watch events).
/// </summary>
public sealed partial class ManifestFolderImportWriter(string directory) : IImportWriter
{
    public Task<bool> PutAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken cancellationToken)
    {
        var file = FileOf(obj.Kind, obj.Metadata.NamespaceProperty ?? "default", obj.Metadata.Name);
        var json = KubernetesJson.Serialize(obj);
        if (File.Exists(file) && File.ReadAllText(file) == json)
            return Task.FromResult(false);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(file)}.tmp");
        File.WriteAllText(temporary, json);
        File.Move(temporary, file, overwrite: true);
        return Task.FromResult(true);
    }

    public Task RemoveAsync(ObjectRef obj, CancellationToken cancellationToken)
    {
        File.Delete(FileOf(obj.Kind, obj.Namespace, obj.Name));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Puts the conditions into the ServiceExport's file, leaving the rest of what the file says as it is. The file is the
    /// user's (the lab's `apply` and `delete` write it): the new content replaces it by an atomic exchange
    /// (renameat2 RENAME_EXCHANGE), which fails when the file has gone meanwhile, so a deleted export is never brought
    /// back; and when the exchange took out other content than what the conditions were added to (the user replaced
    /// the export at that moment), it is exchanged back, leaving the user's version; the next pass writes its status.
    /// </summary>
    public Task<bool> SetExportStatusAsync(V1Alpha1ServiceExport export, IList<V1Condition> conditions, CancellationToken cancellationToken)
    {
        var file = FileOf(V1Alpha1ServiceExport.KindName, export.Metadata.NamespaceProperty ?? "default", export.Metadata.Name);
        string before;
        try
        {
            before = File.ReadAllText(file);
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult(false);
        }
        if (JsonNode.Parse(before) is not JsonObject obj)
            return Task.FromResult(false);
        var status = obj["status"] as JsonObject ?? new JsonObject();
        status["conditions"] = JsonNode.Parse(KubernetesJson.Serialize(conditions));
        obj["status"] = status;
        var json = obj.ToJsonString();
        if (json == before)
            return Task.FromResult(false);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(file)}.status.tmp");
        File.WriteAllText(temporary, json);
        try
        {
            if (!Exchange(temporary, file))
                return Task.FromResult(false);
            if (File.ReadAllText(temporary) != before)
            {
                Exchange(temporary, file);
                return Task.FromResult(false);
            }
            return Task.FromResult(true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Swaps two files' names atomically; false when <paramref name="b"/> does not exist.</summary>
    private static bool Exchange(string a, string b)
    {
        const int AtFdcwd = -100;
        const uint RenameExchange = 2;
        const int Enoent = 2;
        if (RenameAt2(AtFdcwd, a, AtFdcwd, b, RenameExchange) == 0)
            return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Enoent)
            return false;
        throw new IOException($"renameat2({a}, {b}, RENAME_EXCHANGE) failed: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    private string FileOf(string kind, string ns, string name)
    {
        var file = $"{kind.ToLowerInvariant()}.{ns}.{name}";
        if (file.Length > 230)
            file = $"{file[..200]}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(file)))[..16]}";
        return Path.Combine(directory, file + ".json");
    }
}

/// <summary>
/// One writer per cluster in embedded mode: an exclusive lock on a dot-file of the manifests folder, held while this
/// agent writes (.NET takes an advisory flock for FileShare.None on Unix, released when the process dies).
/// </summary>
public sealed class FileLockLeadership(string directory) : IWriterLeadership
{
    private FileStream? _lock;

    public bool TryLead()
    {
        if (_lock is not null)
            return true;
        try
        {
            _lock = new FileStream(Path.Combine(directory, ".patronus-mcs-writer.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Resign()
    {
        _lock?.Dispose();
        _lock = null;
    }

    public void Dispose() => Resign();
}
