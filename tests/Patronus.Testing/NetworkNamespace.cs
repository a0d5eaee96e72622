using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Patronus.Testing;

/// <summary>Entering a named network namespace (one made with `ip netns add`) from managed code.</summary>
public static partial class NetworkNamespace
{
    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(SafeFileHandle fd, int nstype);

    public static string PathOf(string name) => $"/var/run/netns/{name}";

    /// <summary>Makes a named namespace with iproute2, so fixtures do not trust the code under test to build them.</summary>
    public static void Add(string name)
    {
        var result = Command.Run("ip", ["netns", "add", name]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"ip netns add {name} failed ({result.ExitCode}): {result.Stderr}");
    }

    /// <summary>
    /// Runs `ip -n NAME COMMAND` for each command (words split on spaces) and returns their output together;
    /// a failing command throws with its stderr. Tests check the kernel's state with iproute2, independently of
    /// the code under test.
    /// </summary>
    public static string Ip(string name, params string[] commands)
    {
        var output = "";
        foreach (var command in commands)
        {
            var result = Command.Run("ip", ["-n", name, .. command.Split(' ')]);
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"ip -n {name} {command}: {result.Stderr}");
            output += result.Stdout;
        }
        return output;
    }

    /// <summary>Deletes a namespace, quietly when it is already gone: cleanup must not hide the test's own failure.</summary>
    public static void TryDelete(string name) => Command.Run("ip", ["netns", "del", name]);

    /// <summary>
    /// Moves the calling thread into the namespace for the rest of its life: use it on a dedicated thread,
    /// never a pool thread. Sockets opened afterwards stay in that namespace wherever they are used.
    /// </summary>
    public static void Join(string name)
    {
        using var fd = File.OpenHandle(PathOf(name), FileMode.Open, FileAccess.Read);
        if (SetNs(fd, CloneNewNet) != 0)
            throw new IOException($"setns {name}: errno {Marshal.GetLastPInvokeError()}");
    }
}
