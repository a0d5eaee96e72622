using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

internal static partial class Libc
{
    internal const int O_RDONLY = 0;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_NOCTTY = 0x100;

    /// <summary>A descriptor that names a file without opening it: no open side effects, not even on a FIFO or device.</summary>
    internal const int O_PATH = 0x200000;

    /// <summary>linux/magic.h: the file system every namespace file (/proc/pid/ns/*, and bind mounts of them) lives on.</summary>
    internal const long NSFS_MAGIC = 0x6e736673;

    /// <summary>
    /// Room for struct stat and struct statfs on every 64-bit Linux ABI (both are under 150 bytes). Only their
    /// leading fields are read, which sit at the same offsets on x86_64 and the generic ABI (arm64): st_dev at
    /// 0 and st_ino at 8 (both 64-bit), f_type at 0 (a 64-bit word).
    /// </summary>
    internal const int StatBufferSize = 256;

    [LibraryImport(Name, EntryPoint = "fstat", SetLastError = true)]
    internal static unsafe partial int FStat(FileDescriptorHandle fd, byte* buffer);

    [LibraryImport(Name, EntryPoint = "fstatfs", SetLastError = true)]
    internal static unsafe partial int FStatFs(FileDescriptorHandle fd, byte* buffer);

    [LibraryImport(Name, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport(Name, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Name, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unlink(string path);

    [LibraryImport(Name, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MakeDirectory(string path, int mode);
}
