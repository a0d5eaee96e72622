using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Patronus.Netlink.Interop;

namespace Patronus.Netlink;

/// <summary>
/// An open network namespace file (a bind mount under /var/run/netns or /proc/&lt;pid&gt;/ns/net).
/// Entering it happens only on a dedicated thread that exits afterwards (<see cref="Run{T}"/>), so no
/// pool thread ever ends up in the wrong namespace.
/// </summary>
public sealed class NetNs : IDisposable
{
    /// <summary>Where named namespaces live, as iproute2 keeps them.</summary>
    public const string NamedDirectory = "/var/run/netns";

    private readonly FileDescriptorHandle _handle;

    private NetNs(FileDescriptorHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    public string Path { get; }

    public SafeHandle Handle => _handle;

    internal FileDescriptorHandle Descriptor => _handle;

    public int Fd => _handle.Fd;

    /// <summary>
    /// Opens a namespace file; a file that is not a network namespace is refused with a clear message
    /// (<see cref="ArgumentException"/>), and never blocks or has side effects on the way: the path is first
    /// named with O_PATH (so a FIFO, a device or a socket is not opened at all) and only a file on nsfs is then
    /// opened for real, through that very descriptor, and asked its namespace type.
    /// </summary>
    public static NetNs OpenPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var raw = Libc.Open(path, Libc.O_PATH | Libc.O_CLOEXEC, 0);
        if (raw < 0)
        {
            throw NetlinkException.FromLastError("open", $"network namespace {path}");
        }

        using (var named = new FileDescriptorHandle(raw))
        {
            if (FileSystemType(named) != Libc.NSFS_MAGIC)
            {
                throw new ArgumentException($"{path} is not a namespace file (expected {NamedDirectory}/<name> or /proc/<pid>/ns/net)", nameof(path));
            }

            // Reopening /proc/self/fd/N opens the inode the O_PATH descriptor holds, not whatever the path names by now.
            raw = Libc.Open($"/proc/self/fd/{named.Fd}", Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOCTTY | Libc.O_CLOEXEC, 0);
            if (raw < 0)
            {
                throw NetlinkException.FromLastError("open", $"network namespace {path}");
            }
        }

        var handle = new FileDescriptorHandle(raw);
        var type = Libc.IoCtl(handle, Libc.NS_GET_NSTYPE, 0);
        if (type != Libc.CLONE_NEWNET)
        {
            var errno = type < 0 ? Marshal.GetLastPInvokeError() : 0;
            handle.Dispose();
            throw new ArgumentException(
                type < 0 && errno is Errno.ENOTTY or Errno.EINVAL
                    ? $"{path} is not a namespace file (expected {NamedDirectory}/<name> or /proc/<pid>/ns/net)"
                    : type < 0
                        ? $"{path}: cannot tell the namespace type: {Marshal.GetPInvokeErrorMessage(errno)}"
                        : $"{path} is a namespace but not a network namespace",
                nameof(path));
        }

        return new NetNs(handle, path);
    }

    /// <summary>
    /// True when both files are the same network namespace. Namespaces are inodes of nsfs, so the same
    /// namespace reached through different paths (/proc/self/ns/net, a bind mount under /var/run/netns) has
    /// the same device and inode numbers.
    /// </summary>
    public bool IsSameNamespaceAs(NetNs other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Identity(_handle) == Identity(other._handle);
    }

    private static unsafe (ulong Device, ulong Inode) Identity(FileDescriptorHandle handle)
    {
        var buffer = stackalloc byte[Libc.StatBufferSize];
        if (Libc.FStat(handle, buffer) != 0)
        {
            throw NetlinkException.FromLastError("stat", "network namespace file");
        }

        return (*(ulong*)buffer, *(ulong*)(buffer + 8));
    }

    private static unsafe long FileSystemType(FileDescriptorHandle handle)
    {
        var buffer = stackalloc byte[Libc.StatBufferSize];
        return Libc.FStatFs(handle, buffer) == 0 ? *(long*)buffer : -1;
    }

    /// <summary>The calling thread's network namespace.</summary>
    public static NetNs Current() => OpenPath("/proc/thread-self/ns/net");

    /// <summary>Opens the named namespace /var/run/netns/<paramref name="name"/>.</summary>
    public static NetNs OpenNamed(string name) => OpenPath(NamedPath(name));

    /// <summary>
    /// Creates a named namespace like <c>ip netns add</c>: a new namespace made by unshare on a dedicated
    /// thread, kept alive by a bind mount of that thread's ns file onto /var/run/netns/<paramref name="name"/>.
    /// Fails with <see cref="NetlinkException.IsExists"/> when the name is taken.
    /// </summary>
    public static NetNs Create(string name)
    {
        var path = NamedPath(name);
        EnsureNamedDirectory();

        var raw = Libc.Open(path, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0);
        if (raw < 0)
        {
            throw NetlinkException.FromLastError("create", $"network namespace \"{name}\"");
        }

        new FileDescriptorHandle(raw).Dispose();
        try
        {
            OnDedicatedThread(() =>
            {
                if (Libc.Unshare(Libc.CLONE_NEWNET) != 0)
                {
                    throw NetlinkException.FromLastError("create", $"network namespace \"{name}\"");
                }

                if (Libc.Mount("/proc/thread-self/ns/net", path, "none", Libc.MS_BIND, 0) != 0)
                {
                    throw NetlinkException.FromLastError("bind-mount", $"network namespace \"{name}\" onto {path}");
                }

                return 0;
            });
            return OpenPath(path);
        }
        catch
        {
            Libc.Unmount(path, Libc.MNT_DETACH);
            Libc.Unlink(path);
            throw;
        }
    }

    /// <summary>Removes a named namespace like <c>ip netns delete</c>; a missing one is success.</summary>
    public static void Delete(string name)
    {
        var path = NamedPath(name);
        if (Libc.Unmount(path, Libc.MNT_DETACH) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // EINVAL: not a mount point (a leftover file); ENOENT: nothing there.
            if (errno is not (Errno.EINVAL or Errno.ENOENT))
            {
                throw new NetlinkException("unmount", $"network namespace \"{name}\"", errno);
            }
        }

        if (Libc.Unlink(path) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.ENOENT)
            {
                throw new NetlinkException("remove", $"network namespace \"{name}\"", errno);
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> on a new thread inside this namespace; its exception propagates.</summary>
    public T Run<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return OnDedicatedThread(() =>
        {
            if (Libc.SetNs(_handle, Libc.CLONE_NEWNET) != 0)
            {
                throw NetlinkException.FromLastError("enter", $"network namespace {Path}");
            }

            return action();
        });
    }

    /// <summary>
    /// Runs <paramref name="action"/> inside this namespace on the calling thread and brings the thread back
    /// before returning: for short synchronous work such as opening a socket, which stays bound to the
    /// namespace it was created in. Saves the thread start and join of <see cref="Run{T}"/>. A thread
    /// that cannot return to its own namespace ends the process rather than run anything else in the wrong one.
    /// </summary>
    public T RunOnThisThread<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var own = Libc.Open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (own < 0)
        {
            throw NetlinkException.FromLastError("open", "the thread's own network namespace");
        }

        using var ownHandle = new FileDescriptorHandle(own);
        if (Libc.SetNs(_handle, Libc.CLONE_NEWNET) != 0)
        {
            throw NetlinkException.FromLastError("enter", $"network namespace {Path}");
        }

        try
        {
            return action();
        }
        finally
        {
            if (Libc.SetNs(ownHandle, Libc.CLONE_NEWNET) != 0)
            {
                Environment.FailFast($"cannot return to the thread's own network namespace after entering {Path}");
            }
        }
    }

    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run(() =>
        {
            action();
            return 0;
        });
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => Path;

    private static T OnDedicatedThread<T>(Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        // The thread ends when body returns, taking its namespace with it.
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "patronus-netns",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    private static string NamedPath(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Length > 255 || name is "." or ".." || name.Contains('/') || name.Contains('\0'))
        {
            throw new ArgumentException($"network namespace name \"{name}\" is invalid: 1-255 characters, no '/'", nameof(name));
        }

        return $"{NamedDirectory}/{name}";
    }

    /// <summary>
    /// iproute2 makes /var/run/netns a shared mount (bind-mounting it onto itself first when it is not a
    /// mount point), so namespace mounts made later show up in mount namespaces that already exist.
    /// </summary>
    private static void EnsureNamedDirectory()
    {
        if (Libc.MakeDirectory(NamedDirectory, 0x1ed /* 0755 */) != 0 && Marshal.GetLastPInvokeError() != Errno.EEXIST)
        {
            throw NetlinkException.FromLastError("create", NamedDirectory);
        }

        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (Libc.Mount("none", NamedDirectory, "none", Libc.MS_SHARED | Libc.MS_REC, 0) == 0)
            {
                return;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINVAL || attempt > 0)
            {
                throw new NetlinkException("make shared", NamedDirectory, errno);
            }

            if (Libc.Mount(NamedDirectory, NamedDirectory, "none", Libc.MS_BIND | Libc.MS_REC, 0) != 0)
            {
                throw NetlinkException.FromLastError("bind-mount", NamedDirectory);
            }
        }
    }
}
