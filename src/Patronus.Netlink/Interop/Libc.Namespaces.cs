using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

internal static partial class Libc
{
    internal const int CLONE_NEWNET = 0x40000000;

    /// <summary>_IO(0xb7, 0x3) from linux/nsfs.h: returns the CLONE_NEW* type of a namespace file.</summary>
    internal const nuint NS_GET_NSTYPE = 0xb703;

    [LibraryImport(Name, EntryPoint = "setns", SetLastError = true)]
    internal static partial int SetNs(FileDescriptorHandle fd, int nsType);

    [LibraryImport(Name, EntryPoint = "unshare", SetLastError = true)]
    internal static partial int Unshare(int flags);

    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int IoCtl(FileDescriptorHandle fd, nuint request, nint argument);
}
