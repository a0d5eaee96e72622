using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Patronus.Netlink.Interop;

namespace Patronus.Agent.Hosting;

/// <summary>
/// One agent per database and per socket. Two agents on the same state would both answer the plugin and
/// both program the kernel, each undoing the other; so an agent takes an flock on a lock file beside its
/// database and one beside its socket before it touches either, and a second agent waits, saying so, until
/// the first is gone (a restarted pod may overlap its predecessor for a moment). The kernel drops the locks
/// when the process ends, even by kill -9.
/// </summary>
public sealed partial class InstanceLock(AgentOptions options, ILogger<InstanceLock> logger) : IDisposable
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(200);
    private readonly List<FileDescriptorHandle> _held = [];

    public static string LockPathOf(string path) => path + ".lock";

    /// <summary>Blocks until both locks are held, or the token is cancelled.</summary>
    public void Acquire(CancellationToken cancellationToken = default)
    {
        foreach (var path in new[] { LockPathOf(options.Database), LockPathOf(options.Socket) }.Distinct())
            _held.Add(Take(path, cancellationToken));
    }

    private FileDescriptorHandle Take(string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, Libc.OwnerReadWrite);
        if (fd < 0)
            throw new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        var handle = new FileDescriptorHandle(fd);
        try
        {
            var waiting = false;
            while (Libc.Flock(handle, Libc.LOCK_EX | Libc.LOCK_NB) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EWOULDBLOCK)
                    throw new IOException($"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
                if (!waiting)
                {
                    Log.Waiting(logger, path);
                    waiting = true;
                }
                cancellationToken.WaitHandle.WaitOne(RetryInterval);
                cancellationToken.ThrowIfCancellationRequested();
            }
            if (waiting)
                Log.Acquired(logger, path);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var handle in _held)
            handle.Dispose();
        _held.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Another patronus-agent holds {LockFile} (same database or socket); waiting for it to exit")]
        public static partial void Waiting(ILogger logger, string lockFile);

        [LoggerMessage(2, LogLevel.Information, "Took {LockFile}: the other agent is gone")]
        public static partial void Acquired(ILogger logger, string lockFile);
    }
}
