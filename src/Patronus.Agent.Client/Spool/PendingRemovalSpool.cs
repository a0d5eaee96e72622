using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Patronus.Agent.Client.Protocol;

namespace Patronus.Agent.Client.Spool;

/// <summary>
/// What the plugin could not hand to the agent, one small JSON file per endpoint, applied by the agent when
/// it starts and while it runs: removals (DEL never fails because the agent is away) and, without policy
/// enforcement, registrations (ADD does not wait for the agent, yet the agent must still learn of the pod).
/// Files are written to a temporary name and renamed, so the agent never reads half a file. For one endpoint
/// the last word wins: queuing a removal drops a queued registration of the same endpoint and the other way round.
/// </summary>
public sealed class PendingRemovalSpool(string directory = PendingRemovalSpool.DefaultDirectory)
{
    public const string DefaultDirectory = "/var/lib/patronus/pending";
    private const string RemovalExtension = ".removal.json";
    private const string RegistrationExtension = ".registration.json";

    /// <summary>Far larger than any removal or registration: a file beyond it is not one of ours.</summary>
    private const long MaxFileBytes = 64 << 10;

    public string Directory { get; } = directory;

    public void Enqueue(EndpointRemoval removal)
    {
        Write(FileName(removal.ContainerId, removal.IfName) + RemovalExtension, JsonSerializer.SerializeToUtf8Bytes(removal, ProtocolJsonContext.Default.EndpointRemoval));
        File.Delete(Path.Combine(Directory, FileName(removal.ContainerId, removal.IfName) + RegistrationExtension));
    }

    public void Enqueue(EndpointRegistration registration)
    {
        Write(FileName(registration.ContainerId, registration.IfName) + RegistrationExtension, JsonSerializer.SerializeToUtf8Bytes(registration, ProtocolJsonContext.Default.EndpointRegistration));
        File.Delete(Path.Combine(Directory, FileName(registration.ContainerId, registration.IfName) + RemovalExtension));
    }

    private void Write(string name, byte[] json)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name);
        var temporary = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(temporary, json);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Queued removals, oldest first; files that cannot be read come back with <see cref="PendingRemoval.Removal"/> null.</summary>
    public IReadOnlyList<PendingRemoval> ReadAll() =>
        Read(RemovalExtension, ProtocolJsonContext.Default.EndpointRemoval, r => !string.IsNullOrEmpty(r.ContainerId) && !string.IsNullOrEmpty(r.IfName))
            .Select(p => new PendingRemoval(p.Path, p.Value, p.Written)).ToList();

    /// <summary>Queued registrations, oldest first; files that cannot be read come back with <see cref="PendingRegistration.Registration"/> null.</summary>
    public IReadOnlyList<PendingRegistration> ReadRegistrations() =>
        Read(RegistrationExtension, ProtocolJsonContext.Default.EndpointRegistration, r => !string.IsNullOrEmpty(r.ContainerId) && !string.IsNullOrEmpty(r.IfName))
            .Select(p => new PendingRegistration(p.Path, p.Value, p.Written)).ToList();

    private List<(string Path, T? Value, DateTime Written)> Read<T>(string extension, JsonTypeInfo<T> type, Func<T, bool> complete) where T : class
    {
        var pending = new List<(string, T?, DateTime)>();
        if (!System.IO.Directory.Exists(Directory))
            return pending;
        foreach (var file in new DirectoryInfo(Directory).GetFiles("*" + extension).OrderBy(f => f.LastWriteTimeUtc))
        {
            T? value = null;
            // A FIFO or device (length 0) would block the read, or never end; a queued entry is never empty.
            if (file.Length is > 0 and <= MaxFileBytes)
            {
                try
                {
                    value = JsonSerializer.Deserialize(File.ReadAllBytes(file.FullName), type);
                    if (value is not null && !complete(value))
                        value = null;
                }
                catch (Exception e) when (e is JsonException or IOException)
                {
                }
            }
            pending.Add((file.FullName, value, file.LastWriteTimeUtc));
        }
        return pending;
    }

    /// <summary>Forgets a queued entry once it has been applied.</summary>
    public static void Complete(PendingRemoval pending) => File.Delete(pending.Path);

    public static void Complete(PendingRegistration pending) => File.Delete(pending.Path);

    /// <summary>One file per endpoint: queuing the same entry twice is harmless.</summary>
    internal static string FileName(EndpointRemoval removal) => FileName(removal.ContainerId, removal.IfName) + RemovalExtension;

    private static string FileName(string containerId, string ifName)
    {
        var name = new StringBuilder();
        foreach (var c in containerId + "." + ifName)
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        return name.ToString();
    }
}

public sealed record PendingRemoval(string Path, EndpointRemoval? Removal, DateTime Written = default);

public sealed record PendingRegistration(string Path, EndpointRegistration? Registration, DateTime Written = default);
