using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

internal static partial class Libc
{
    /// <summary>With MSG_TRUNC a netlink recv returns the datagram's real length even when it did not fit.</summary>
    internal const int MSG_TRUNC = 0x20;

    [LibraryImport(Name, EntryPoint = "send", SetLastError = true)]
    internal static unsafe partial nint Send(FileDescriptorHandle fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Name, EntryPoint = "recv", SetLastError = true)]
    internal static unsafe partial nint Receive(FileDescriptorHandle fd, byte* buffer, nuint length, int flags);
}
