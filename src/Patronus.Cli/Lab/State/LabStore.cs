using System.Text.Json;

namespace Patronus.Cli.Lab.State;

/// <summary>
/// Where labs keep their state: one directory per lab under <see cref="Root"/> (/var/run/patronus/labs, or
/// $PATRONUS_LAB_DIR), holding state.json, the cluster state the agents watch, and the agents' sockets, databases,
/// logs and pid files. /var/run is a tmpfs: a reboot, which also ends every namespace, clears it.
/// </summary>
public sealed class LabStore(string root)
{
    public const string DefaultRoot = "/var/run/patronus/labs";
    public const string RootVariable = "PATRONUS_LAB_DIR";
    private const string StateFile = "state.json";
    private const string LockFile = "lock";

    public string Root { get; } = Path.GetFullPath(root);

    public static LabStore Default() => new(Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } root ? root : DefaultRoot);

    public string DirectoryOf(string lab) => Path.Combine(Root, lab);

    /// <summary>The names of the labs with a state record here.</summary>
    public IReadOnlyList<string> List() =>
        Directory.Exists(Root)
            ? Directory.EnumerateDirectories(Root).Where(d => File.Exists(Path.Combine(d, StateFile))).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <exception cref="LabException">The record exists but cannot be read.</exception>
    public LabRecord? Load(string lab)
    {
        var path = Path.Combine(DirectoryOf(lab), StateFile);
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonSerializer.Deserialize<LabRecord>(File.ReadAllText(path), LabRecord.Json)
                ?? throw new LabException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new LabException($"{path} cannot be read ({e.Message}); `patronus lab down --name {lab}` still removes what carries the lab's name");
        }
    }

    /// <summary>Writes the record atomically (a temporary file renamed over the old one): a crash leaves the old record or the new one, never half of one.</summary>
    public void Save(LabRecord record)
    {
        var directory = Directory.CreateDirectory(DirectoryOf(record.Name)).FullName;
        var temporary = Path.Combine(directory, $".{StateFile}.{Environment.ProcessId}.tmp");
        File.WriteAllText(temporary, JsonSerializer.Serialize(record, LabRecord.Json));
        File.Move(temporary, Path.Combine(directory, StateFile), overwrite: true);
    }

    /// <summary>
    /// Takes the lab's lock (an flock on its lock file, released by the kernel when the holder dies) so that
    /// up, apply, delete and down never act on one lab at once. Waits up to <paramref name="timeout"/>.
    /// </summary>
    public IDisposable Lock(string lab, TimeSpan timeout)
    {
        var directory = Directory.CreateDirectory(DirectoryOf(lab)).FullName;
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None is an exclusive flock(2) on the file.
                return new FileStream(Path.Combine(directory, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            catch (IOException)
            {
                throw new LabException($"lab {lab} is busy: another `patronus lab` command holds {Path.Combine(directory, LockFile)}");
            }
        }
    }

    /// <summary>Removes the lab's directory and everything in it; a missing one is success.</summary>
    public void Remove(string lab)
    {
        var directory = DirectoryOf(lab);
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
    }
}
