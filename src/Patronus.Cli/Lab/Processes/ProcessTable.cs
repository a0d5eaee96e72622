using System.Globalization;
using Patronus.Cli.Lab.Processes.Interop;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Processes;

/// <summary>A process the lab started, known by its pid and its start time, so that a reused pid is never mistaken for it.</summary>
public sealed record ProcessRecord(string Role, string? Cluster, string? Node, int Pid, long StartTime, string? PidFile, string? Log);

/// <summary>What /proc says about processes: who is alive, who runs in which network namespace; and killing them.</summary>
internal static class ProcessTable
{
    /// <summary>The process's start time (clock ticks since boot, /proc/PID/stat field 22), or null when it is gone or a zombie.</summary>
    public static long? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields[0] is "Z" or "X")
            return null;
        return long.Parse(fields[19], CultureInfo.InvariantCulture);
    }

    public static bool IsAlive(ProcessRecord process) => StartTime(process.Pid) == process.StartTime;

    /// <summary>The identity of a network namespace as the kernel prints it (net:[INODE]): equal for every path to the same namespace.</summary>
    public static string? NamespaceId(string netnsPath)
    {
        try
        {
            using var ns = NetNs.OpenPath(netnsPath);
            // The namespace file is a bind mount, so its own link names the mount point; a thread inside it sees the id.
            return ns.Run(() => new FileInfo("/proc/thread-self/ns/net").LinkTarget);
        }
        catch (Exception e) when (e is NetlinkException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every process (not this one) whose network namespace is one of <paramref name="namespaceIds"/>.</summary>
    public static List<int> InNamespaces(IReadOnlySet<string> namespaceIds)
    {
        var found = new List<int>();
        if (namespaceIds.Count == 0)
            return found;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId || pid == 1)
                continue;
            try
            {
                if (new FileInfo(Path.Combine(directory, "ns", "net")).LinkTarget is { } id && namespaceIds.Contains(id))
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked.
            }
        }
        return found;
    }

    /// <summary>SIGKILL, then waits (up to <paramref name="timeout"/>) until the process is gone or a zombie; a process already gone is success.</summary>
    public static bool Kill(int pid, TimeSpan timeout)
    {
        if (pid <= 1 || pid == Environment.ProcessId)
            return false;
        if (Spawn.Kill(pid, Spawn.SigKill) != 0)
            return System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Spawn.Esrch;
        var deadline = DateTime.UtcNow + timeout;
        while (StartTime(pid) is not null)
        {
            if (DateTime.UtcNow > deadline)
                return false;
            Thread.Sleep(10);
        }
        return true;
    }

    public static ProcessRecord Describe(string role, string? cluster, string? node, int pid, string? pidFile, string? log) =>
        new(role, cluster, node, pid, StartTime(pid) ?? 0, pidFile, log);
}
