using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

/// <remarks>
/// File calls the agent and the plugin make directly rather than through FileStream/File: .NET takes its own advisory
/// flock(LOCK_SH|LOCK_NB) on files it opens (its FileShare emulation), which would fight the locks taken on lock
/// files, cannot give the mode of a file it creates, and adds fstat/lseek syscalls to a plugin ADD that should cost
/// a handful. Flag values are Linux's asm-generic ones, shared by x86-64 and arm64.
/// </remarks>
internal static partial class Libc
{
    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 0x1;
    internal const int O_RDWR = 0x2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_NOCTTY = 0x100;

    /// <summary>A descriptor that names a file without opening it: no open side effects, not even on a FIFO or device.</summary>
    internal const int O_PATH = 0x200000;

    /// <summary>The *at calls' "relative to the working directory".</summary>
    internal const int AT_FDCWD = -100;

    /// <summary>rw------- : what the agent and the plugin create their state files with.</summary>
    internal const int OwnerReadWrite = 0b110_000_000;

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

    /// <summary>stat(2), following symlinks; see <see cref="StatBufferSize"/> for what may be read.</summary>
    [LibraryImport(Name, EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int Stat(string path, byte* buffer);

    [LibraryImport(Name, EntryPoint = "fstatfs", SetLastError = true)]
    internal static unsafe partial int FStatFs(FileDescriptorHandle fd, byte* buffer);

    [LibraryImport(Name, EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int StatFs(string path, byte* buffer);

    [LibraryImport(Name, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport(Name, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Name, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unlink(string path);

    [LibraryImport(Name, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MakeDirectory(string path, int mode);

    [LibraryImport(Name, EntryPoint = "pread", SetLastError = true)]
    internal static unsafe partial nint PRead(FileDescriptorHandle fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Name, EntryPoint = "pwrite", SetLastError = true)]
    internal static unsafe partial nint PWrite(FileDescriptorHandle fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Name, EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Symlink(string target, string path);

    /// <summary>With flags 0, linkat links the symlink itself, not what it points at.</summary>
    [LibraryImport(Name, EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LinkAt(int oldDirFd, string oldPath, int newDirFd, string newPath, int flags);

    [LibraryImport(Name, EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial nint ReadLink(string path, byte* buffer, nuint size);

    [LibraryImport(Name, EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Rename(string from, string to);

    [LibraryImport(Name, EntryPoint = "umask")]
    internal static partial uint Umask(uint mask);
}
