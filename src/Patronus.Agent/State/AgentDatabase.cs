using System.Text.Json;
using Microsoft.Data.Sqlite;
using Patronus.Agent.Client.Protocol;
using Patronus.Netlink.Interop;

namespace Patronus.Agent.State;

/// <summary>
/// The agent's durable state in SQLite: the endpoints registered on this node, so a restarted agent
/// programs exactly the pods that are running. The schema is versioned with PRAGMA user_version and
/// migrated forward on open. Every write is its own transaction; the database is small.
/// The files are the root's alone: the database and its -wal and -shm files 0600 (SQLite gives the journal
/// files the database file's mode, so the database file is made 0600 before SQLite opens it), a directory
/// the agent creates 0700; whatever the umask.
/// </summary>
public sealed class AgentDatabase : IDisposable
{
    public const int SchemaVersion = 1;

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();

    public AgentDatabase(string path)
    {
        Path = path;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        CreateOwnerOnly(path);
        // An older agent made these 0644; state is the root's alone.
        RestrictFile(path);
        RestrictFile(path + "-wal");
        RestrictFile(path + "-shm");
        // Microsoft.Data.Sqlite retries a busy database for DefaultTimeout (30 s unless told): longer than the
        // plugin waits for a registration. Give up after the same 5 s as busy_timeout and say so.
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 5 }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode = WAL");
        Execute("PRAGMA busy_timeout = 5000");
        Migrate();
        RestrictFile(path + "-wal");
        RestrictFile(path + "-shm");
    }

    public string Path { get; }

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the database file 0600 before SQLite does (it would create it 0644 less the umask).</summary>
    private static void CreateOwnerOnly(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, Libc.OwnerReadWrite);
        if (fd >= 0)
        {
            new FileDescriptorHandle(fd).Dispose();
            return;
        }
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno != Errno.EEXIST)
            throw new IOException($"cannot create {path}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
    }

    private static void RestrictFile(string path)
    {
        if (File.Exists(path) && File.GetUnixFileMode(path) != OwnerOnly)
            File.SetUnixFileMode(path, OwnerOnly);
    }

    private void Migrate()
    {
        var version = Convert.ToInt32(Scalar("PRAGMA user_version"));
        if (version > SchemaVersion)
            throw new InvalidOperationException($"database {Path} has schema version {version}, newer than this agent's {SchemaVersion}; upgrade the agent");
        if (version < 1)
        {
            using var transaction = _connection.BeginTransaction();
            Execute("""
                CREATE TABLE IF NOT EXISTS agent_endpoints (
                    container_id   TEXT NOT NULL,
                    if_name        TEXT NOT NULL,
                    netns          TEXT NOT NULL,
                    pod_namespace  TEXT NOT NULL,
                    pod_name       TEXT NOT NULL,
                    pod_uid        TEXT NOT NULL,
                    addresses      TEXT NOT NULL,
                    mac            TEXT NOT NULL,
                    host_interface TEXT NOT NULL,
                    registered_at  TEXT NOT NULL,
                    PRIMARY KEY (container_id, if_name)
                )
                """, transaction);
            Execute($"PRAGMA user_version = {SchemaVersion}", transaction);
            transaction.Commit();
        }
    }

    public void SaveEndpoint(EndpointRegistration endpoint)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO agent_endpoints (container_id, if_name, netns, pod_namespace, pod_name, pod_uid, addresses, mac, host_interface, registered_at)
                VALUES ($container, $if, $netns, $ns, $name, $uid, $addresses, $mac, $host, $at)
                ON CONFLICT (container_id, if_name) DO UPDATE SET
                    netns = excluded.netns, pod_namespace = excluded.pod_namespace, pod_name = excluded.pod_name,
                    pod_uid = excluded.pod_uid, addresses = excluded.addresses, mac = excluded.mac,
                    host_interface = excluded.host_interface, registered_at = excluded.registered_at
                """;
            command.Parameters.AddWithValue("$container", endpoint.ContainerId);
            command.Parameters.AddWithValue("$if", endpoint.IfName);
            command.Parameters.AddWithValue("$netns", endpoint.Netns ?? "");
            command.Parameters.AddWithValue("$ns", endpoint.PodNamespace);
            command.Parameters.AddWithValue("$name", endpoint.PodName);
            command.Parameters.AddWithValue("$uid", endpoint.PodUid ?? "");
            command.Parameters.AddWithValue("$addresses", JsonSerializer.Serialize(endpoint.Addresses, StateJsonContext.Default.IReadOnlyListString));
            command.Parameters.AddWithValue("$mac", endpoint.Mac ?? "");
            command.Parameters.AddWithValue("$host", endpoint.HostInterface ?? "");
            command.Parameters.AddWithValue("$at", DateTime.UtcNow.ToString("O"));
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes an endpoint; false when it was not there.</summary>
    public bool DeleteEndpoint(string containerId, string ifName)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM agent_endpoints WHERE container_id = $container AND if_name = $if";
            command.Parameters.AddWithValue("$container", containerId);
            command.Parameters.AddWithValue("$if", ifName);
            return command.ExecuteNonQuery() > 0;
        }
    }

    public IReadOnlyList<EndpointRegistration> LoadEndpoints()
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT container_id, if_name, netns, pod_namespace, pod_name, pod_uid, addresses, mac, host_interface FROM agent_endpoints ORDER BY registered_at";
            using var reader = command.ExecuteReader();
            var endpoints = new List<EndpointRegistration>();
            while (reader.Read())
            {
                endpoints.Add(new EndpointRegistration(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                    JsonSerializer.Deserialize(reader.GetString(6), StateJsonContext.Default.IReadOnlyListString) ?? [],
                    reader.GetString(7), reader.GetString(8)));
            }
            return endpoints;
        }
    }

    private void Execute(string sql, SqliteTransaction? transaction = null)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose() => _connection.Dispose();
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StateJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
