using System.Runtime.InteropServices;

namespace Patronus.Cli.Lab;

/// <summary>Removes the bpffs mounts the lab's agents made on the lab's own directories.</summary>
internal static partial class LabMounts
{
    private const int MntDetach = 2;
    private const int EINVAL = 22;
    private const int ENOENT = 2;

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
