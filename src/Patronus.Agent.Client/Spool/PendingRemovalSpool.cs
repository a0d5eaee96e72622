using System.Text;
using System.Text.Json;
using Patronus.Agent.Client.Protocol;

namespace Patronus.Agent.Client.Spool;

/// <summary>
/// Removals the plugin could not hand to the agent, one small JSON file each, drained by the agent when
/// it starts. Files are written to a temporary name and renamed, so the agent never reads half a file.
/// </summary>
public sealed class PendingRemovalSpool(string directory = PendingRemovalSpool.DefaultDirectory)
{
    public const string DefaultDirectory = "/var/lib/patronus/pending";
    private const string Extension = ".removal.json";

    public string Directory { get; } = directory;

    public void Enqueue(EndpointRemoval removal)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, FileName(removal));
        var temporary = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(removal, ProtocolJsonContext.Default.EndpointRemoval));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Queued removals, oldest first; files that cannot be read come back with <see cref="PendingRemoval.Removal"/> null.</summary>
    public IReadOnlyList<PendingRemoval> ReadAll()
    {
        if (!System.IO.Directory.Exists(Directory))
            return [];
        var pending = new List<PendingRemoval>();
        foreach (var file in new DirectoryInfo(Directory).GetFiles("*" + Extension).OrderBy(f => f.LastWriteTimeUtc))
        {
            EndpointRemoval? removal = null;
            try
            {
                removal = JsonSerializer.Deserialize(File.ReadAllBytes(file.FullName), ProtocolJsonContext.Default.EndpointRemoval);
                if (string.IsNullOrEmpty(removal?.ContainerId) || string.IsNullOrEmpty(removal.IfName))
                    removal = null;
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
            }
            pending.Add(new PendingRemoval(file.FullName, removal));
        }
        return pending;
    }

    /// <summary>Forgets a removal once it has been applied.</summary>
    public static void Complete(PendingRemoval pending) => File.Delete(pending.Path);

    /// <summary>One file per endpoint: queuing the same removal twice is harmless.</summary>
    internal static string FileName(EndpointRemoval removal)
    {
        var name = new StringBuilder();
        foreach (var c in removal.ContainerId + "." + removal.IfName)
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        return name + Extension;
    }
}

public sealed record PendingRemoval(string Path, EndpointRemoval? Removal);
