using System.Runtime.InteropServices;

namespace Patronus.Cli.Lab;

/// <summary>Removes the bpffs mounts the lab's agents made on the lab's own directories.</summary>
internal static partial class LabMounts
{
    private const int MntDetach = 2;
    private const int EINVAL = 22;
    private const int ENOENT = 2;

    /// <summary>Mount points at or below <paramref name="directory"/>, deepest first, from this process's mount table.</summary>
    public static IReadOnlyList<string> Under(string directory)
    {
        var root = Path.GetFullPath(directory).TrimEnd('/');
        if (!File.Exists("/proc/self/mountinfo"))
            return [];
        // mountinfo's fifth field is the mount point, with space, tab, newline and backslash written as octal escapes.
        return File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4)
            .Select(fields => System.Text.RegularExpressions.Regex.Replace(fields[4], @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString()))
            .Where(point => point == root || point.StartsWith(root + "/", StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(point => point.Length)
            .ToList();
    }

    /// <summary>Detaches the mount at <paramref name="path"/>; nothing mounted there (EINVAL) or no such path (ENOENT) is fine.</summary>
    public static void Unmount(string path)
    {
        if (Umount2(path, MntDetach) == 0)
            return;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is not (EINVAL or ENOENT))
            throw new LabException($"could not unmount {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);
}
