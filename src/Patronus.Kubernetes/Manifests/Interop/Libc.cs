using System.Runtime.InteropServices;

namespace Patronus.Kubernetes.Manifests.Interop;

/// <summary>
/// The two calls .NET does not offer: open(2) with O_NONBLOCK (File.Open blocks forever on a FIFO until a
/// writer comes), and statx(2) for the file type (FileInfo cannot tell a FIFO or a device from a file).
/// statx rather than fstat: its struct has one layout on every architecture.
/// </summary>
internal static partial class Libc
{
    public const int ORdOnly = 0;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;

    public const int AtFdCwd = -100;
    public const int AtEmptyPath = 0x1000;
    public const uint StatxType = 0x1;
    public const uint StatxMtime = 0x40;
    public const uint StatxSize = 0x200;

    public const int SIfMt = 0xF000;
    public const int SIfReg = 0x8000;
    public const int SIfDir = 0x4000;
    public const int SIfIfo = 0x1000;
    public const int SIfSock = 0xC000;
    public const int SIfChr = 0x2000;
    public const int SIfBlk = 0x6000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(int dirfd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(Microsoft.Win32.SafeHandles.SafeFileHandle fd, string path, int flags, uint mask, out StatxBuffer buffer);
}

/// <summary>struct statx from linux/stat.h (256 bytes); only the fields read here are declared.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct StatxBuffer
{
    [FieldOffset(28)] public ushort Mode;
    [FieldOffset(40)] public ulong Size;
    [FieldOffset(112)] public long MtimeSeconds;
    [FieldOffset(120)] public uint MtimeNanoseconds;
}
