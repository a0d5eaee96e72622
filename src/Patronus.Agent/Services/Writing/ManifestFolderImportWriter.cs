using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using Patronus.Agent.Services.Import;

namespace Patronus.Agent.Services.Writing;

/// <summary>
/// Writes imports into the manifests folder of embedded mode (the lab's cluster state), one file per object named as the
/// lab names its objects (KIND.NAMESPACE.NAME.json), through a temporary dot-file and a rename, so a reader never sees
/// half an object. An object whose file already holds the same bytes is not written again (no needless watch events).
/// </summary>
public sealed class ManifestFolderImportWriter(string directory) : IImportWriter
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
