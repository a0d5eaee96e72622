using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

internal static partial class Libc
{
    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;

    /// <summary>flock(2): an advisory lock the kernel drops when the descriptor is closed or the process dies, however it dies.</summary>
    [LibraryImport(Name, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(FileDescriptorHandle fd, int operation);
}
