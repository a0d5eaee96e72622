namespace Patronus.Cni.Tests.Binary;

/// <summary>
/// A pids cgroup of its own for a plugin run: at most <c>maxProcesses</c> processes at once, and every one of them
/// killed on dispose. It guards tests whose failure mode is a fork bomb (a plugin that delegates to itself), so a
/// regression fails the test instead of taking the machine down.
/// </summary>
public sealed class PidsCage : IDisposable
{
    // cgroup v1 mounts the pids controller on its own; under cgroup v2 the root must already hand it to children.
    private static readonly string[] Roots = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"];

    private readonly string _directory;

    public PidsCage(int maxProcesses)
    {
        var root = Roots.FirstOrDefault(IsUsable)
            ?? throw new InvalidOperationException(
                "no pids cgroup controller is mounted (looked in /sys/fs/cgroup/pids and /sys/fs/cgroup): cannot bound the processes a run may start");
        _directory = System.IO.Path.Combine(root, "pcni-cage-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        File.WriteAllText(System.IO.Path.Combine(_directory, "pids.max"), maxProcesses.ToString());
    }

    /// <summary>Writing a pid here moves that process (and what it starts later) into the cage.</summary>
    public string ProcsFile => System.IO.Path.Combine(_directory, "cgroup.procs");

    /// <summary>How often a fork failed because the cage was full: more than zero means the run tried to exceed it.</summary>
    public int ForksRefused
    {
        get
        {
            var events = File.ReadAllText(System.IO.Path.Combine(_directory, "pids.events"));
            var line = events.Split('\n').FirstOrDefault(l => l.StartsWith("max ", StringComparison.Ordinal));
            return line is null ? 0 : int.Parse(line[4..]);
        }
    }

    public IReadOnlyList<int> Members() =>
        File.ReadAllLines(ProcsFile).Where(l => l.Length > 0).Select(int.Parse).ToList();

    /// <summary>Kills everything in the cage until it stays empty (a process may fork while its siblings die).</summary>
    public void KillAll()
    {
        for (var round = 0; round < 200; round++)
        {
            var members = Members();
            if (members.Count == 0)
            {
                return;
            }

            foreach (var pid in members)
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Gone already.
                }
            }

            Thread.Sleep(10);
        }
    }

    public void Dispose()
    {
        KillAll();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                Directory.Delete(_directory);
                return;
            }
            catch (IOException)
            {
                // Killed processes leave the cgroup once they are reaped.
                Thread.Sleep(20);
            }
        }
    }

    private static bool IsUsable(string root) =>
        root.EndsWith("/pids", StringComparison.Ordinal)
            ? File.Exists(System.IO.Path.Combine(root, "cgroup.procs"))
            : File.Exists(System.IO.Path.Combine(root, "cgroup.subtree_control"))
              && File.ReadAllText(System.IO.Path.Combine(root, "cgroup.subtree_control")).Split(' ', '\n').Contains("pids");
}
