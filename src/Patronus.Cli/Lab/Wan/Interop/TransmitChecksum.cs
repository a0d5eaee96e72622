using System.Runtime.InteropServices;
using System.Text;

namespace Patronus.Cli.Lab.Wan.Interop;

/// <summary>
/// Turns off an interface's transmit checksum offload (SIOCETHTOOL, ETHTOOL_STXCSUM), which the kernel follows by
/// turning off scatter-gather and TSO on it. The bridge ports facing the relay get this, so the kernel checksums and
/// segments every frame before the relay sees it: the relay then carries real, wire-sized frames (a veth otherwise
/// hands over 64 KB TCP super-frames with their checksums not yet filled in, which could not be sent on as they are).
/// Hand-written: no netlink ethtool client exists in .NET, and this is one ioctl.
/// </summary>
internal static unsafe partial class TransmitChecksum
{
    private const int SiocEthtool = 0x8946;
    private const uint EthtoolSetTxChecksum = 0x17;

    /// <summary>In the calling thread's network namespace.</summary>
    public static void Disable(string name)
    {
        var fd = Socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
        if (fd < 0)
            throw new IOException($"socket for ethtool: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        try
        {
            // struct ethtool_value { u32 cmd; u32 data; } and struct ifreq { char name[16]; void *data; ... } (40 bytes).
            var value = stackalloc uint[2];
            value[0] = EthtoolSetTxChecksum;
            value[1] = 0;
            var request = stackalloc byte[40];
            new Span<byte>(request, 40).Clear();
            Encoding.ASCII.GetBytes(name, new Span<byte>(request, 15));
            *(uint**)(request + 16) = value;
            if (Ioctl(fd, SiocEthtool, request) != 0)
                throw new IOException($"turning off transmit checksums on {name}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        finally
        {
            Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nint request, byte* argument);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
