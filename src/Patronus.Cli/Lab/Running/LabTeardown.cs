using Patronus.Cli.Lab.Processes;
using Patronus.Cli.Lab.State;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Running;

/// <summary>
/// <c>lab down</c>: stops a build still running, kills every process of the lab (those its record names, checked by
/// start time so a reused pid is spared, and any process living in one of its namespaces), deletes its namespaces
/// (those recorded and any other carrying its name) and its state directory. Works from whatever a crash left:
/// a full record, a partial one, or none.
/// </summary>
internal static class LabTeardown
{
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    /// <summary>Where wireguard-go serves its UAPI sockets (fixed by wireguard-go).</summary>
    private const string WireGuardSockets = "/var/run/wireguard";

    /// <summary>Namespaces named after the lab, whether or not a record names them.</summary>
    public static IEnumerable<string> LeftoverNamespaces(string lab) =>
        Directory.Exists(NetNs.NamedDirectory)
            ? Directory.EnumerateFileSystemEntries(NetNs.NamedDirectory).Select(Path.GetFileName).OfType<string>()
                .Where(n => n.StartsWith(LabNames.Prefix(lab), StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [];

    /// <summary>Stops a running build of the lab, then removes it under the lab's lock.</summary>
    /// <returns>Whether there was anything to remove.</returns>
    public static bool Down(LabStore store, string lab, TextWriter log)
    {
        LabRecord? record = null;
        try
        {
            record = store.Load(lab);
        }
        catch (LabException e)
        {
            log.WriteLine($"lab {lab}: {e.Message}");
        }
        if (record?.Builder is { } builder && ProcessTable.IsAlive(builder))
        {
            log.WriteLine($"lab {lab}: stopping its build (pid {builder.Pid})");
            ProcessTable.Kill(builder.Pid, KillWait);
        }
        var found = record is not null || LeftoverNamespaces(lab).Any() || Directory.Exists(store.DirectoryOf(lab));
        if (!found)
            return false;
        using (store.Lock(lab, TimeSpan.FromSeconds(60)))
        {
            // Read again under the lock: a build that ended meanwhile may have recorded more.
            try
            {
                record = store.Load(lab) ?? record;
            }
            catch (LabException)
            {
            }
            Remove(store, lab, record, log);
        }
        return true;
    }

    /// <summary>Removes everything of the lab; the caller holds its lock (or is the build that made it).</summary>
    public static void Remove(LabStore store, string lab, LabRecord? record, TextWriter log)
    {
        var namespaces = (record?.Namespaces ?? []).Concat(LeftoverNamespaces(lab)).Distinct().ToList();
        var killed = 0;
        foreach (var process in record?.Processes ?? [])
            if (process.Pid > 0 && ProcessTable.IsAlive(process) && ProcessTable.Kill(process.Pid, KillWait))
                killed++;
        // Whatever else runs in the lab's namespaces: an agent whose pid was never recorded (a build killed between
        // the spawn and the record), a `lab exec` left behind.
        var ids = namespaces.Select(n => ProcessTable.NamespaceId(Path.Combine(NetNs.NamedDirectory, n))).OfType<string>().ToHashSet();
        for (var round = 0; round < 5; round++)
        {
            var inside = ProcessTable.InNamespaces(ids);
            if (inside.Count == 0)
                break;
            foreach (var pid in inside)
                if (ProcessTable.Kill(pid, KillWait))
                    killed++;
        }

        var failures = new List<string>();
        for (var i = namespaces.Count - 1; i >= 0; i--)
        {
            try
            {
                NetNs.Delete(namespaces[i]);
            }
            catch (Exception e) when (e is NetlinkException or ArgumentException)
            {
                failures.Add($"{namespaces[i]}: {e.Message}");
            }
        }
        // wireguard-go was killed without the chance to remove its UAPI socket, which lives in the machine-wide
        // /var/run/wireguard: the lab's names are its own (hashed per lab, cluster and node), so only ours go.
        foreach (var node in record?.Plan.Nodes ?? [])
        {
            // One device per WAN leg of the gateway (see LabPlan.MeshPortOf), and one more for a gateway with none.
            var devices = Math.Max(1, record!.Plan.LinksOf(node).Count());
            for (var index = 0; index < devices; index++)
            {
                var socket = Path.Combine(WireGuardSockets, Patronus.Mesh.Tunnels.DeviceNames.Of(LabNames.MeshInterface(lab, node.Cluster, node.Name), index) + ".sock");
                try
                {
                    File.Delete(socket);
                }
                catch (IOException e)
                {
                    failures.Add($"{socket}: {e.Message}");
                }
            }
        }
        // The eBPF agents' bpffs mounts live in the lab's directory (recorded or not: read from the mount table).
        foreach (var mount in LabMounts.Under(store.DirectoryOf(lab)))
        {
            try
            {
                LabMounts.Unmount(mount);
            }
            catch (LabException e)
            {
                failures.Add(e.Message);
            }
        }
        if (failures.Count > 0)
            throw new LabException($"lab {lab}: could not delete namespace(s) or unmount: {string.Join("; ", failures)}");
        store.Remove(lab);
        log.WriteLine($"lab {lab}: removed {namespaces.Count} namespace(s), stopped {killed} process(es)");
    }
}
