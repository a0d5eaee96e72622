using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

internal static partial class Libc
{
    internal const short POLLIN = 0x1;
    internal const short POLLHUP = 0x10;
    internal const int MSG_DONTWAIT = 0x40;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }

    [LibraryImport(Name, EntryPoint = "poll", SetLastError = true)]
    internal static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    internal const int SIGKILL = 9;

    [LibraryImport(Name, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport(Name, EntryPoint = "geteuid")]
    internal static partial uint Geteuid();

    [LibraryImport(Name, EntryPoint = "pipe2", SetLastError = true)]
    internal static unsafe partial int Pipe2(int* fds, int flags);
}
