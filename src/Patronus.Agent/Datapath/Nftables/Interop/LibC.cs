using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Patronus.Agent.Datapath.Nftables.Interop;

internal static partial class LibC
{
    /// <summary>CLONE_NEWNET from sched.h.</summary>
    public const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(SafeFileHandle fd, int nstype);
}
