using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

/// <summary>
/// Sends one netlink request from a forked child process that nobody waits for. The kernel handles a request
/// synchronously inside the sender's send(); some requests go on working after their visible effect is done
/// (a link delete waits for an RCU barrier before it frees the device), and this lets the caller return at the
/// visible effect while the child sits out the rest.
/// </summary>
/// <remarks>
/// Between fork and _exit the child runs in a copy of a multi-threaded .NET process in which only the forking
/// thread exists: it must not allocate, take a lock, resolve a symbol or switch GC mode. So every libc entry
/// point it uses is resolved here, in the parent, and called through an unmanaged function pointer without a
/// GC transition; the child's code is straight-line. That holds in a NativeAOT process (measured: 2,000 of
/// 2,000 forked children sent and exited cleanly while the parent allocated); under the JIT the child crashes
/// (SIGSEGV right after its first call, every time), so a JIT process never forks and sends in-process.
/// </remarks>
internal static unsafe class DetachedRequest
{
    private static readonly Entries? Resolved = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? null : Resolve();

    /// <summary>
    /// False under the JIT, or when libc lacks an entry point (close_range needs glibc 2.34): callers send in-process.
    /// </summary>
    internal static bool IsAvailable => Resolved is not null;

    /// <summary>
    /// Forks a child that closes every descriptor but <paramref name="socketFd"/> and <paramref name="exitFd"/>
    /// (so it holds no runtime pipe, lock file or stdout open), sends <paramref name="length"/> bytes from
    /// <paramref name="request"/> on the socket and exits. <paramref name="exitFd"/> is the write end of a pipe
    /// whose read end reports the child's exit. Returns the child's pid, or -1 when fork failed.
    /// </summary>
    internal static int Start(int socketFd, byte* request, nuint length, int exitFd)
    {
        var e = Resolved ?? throw new InvalidOperationException("detached requests are not available");
        var low = (uint)Math.Min(socketFd, exitFd);
        var high = (uint)Math.Max(socketFd, exitFd);
        var pid = e.Fork();
        if (pid != 0)
        {
            return pid;
        }

        // The child. close_range with first > last fails harmlessly (EINVAL) when the two descriptors are adjacent.
        if (low > 0)
        {
            e.CloseRange(0, low - 1, 0);
        }

        e.CloseRange(low + 1, high - 1, 0);
        e.CloseRange(high + 1, uint.MaxValue, 0);
        e.Send(socketFd, request, length, 0);
        e.Exit(0);
        return 0; // not reached
    }

    private static Entries? Resolve()
    {
        try
        {
            var libc = NativeLibrary.Load("libc.so.6");
            if (NativeLibrary.TryGetExport(libc, "fork", out var fork)
                && NativeLibrary.TryGetExport(libc, "close_range", out var closeRange)
                && NativeLibrary.TryGetExport(libc, "send", out var send)
                && NativeLibrary.TryGetExport(libc, "_exit", out var exit))
            {
                return new Entries(
                    (delegate* unmanaged[SuppressGCTransition]<int>)fork,
                    (delegate* unmanaged[SuppressGCTransition]<uint, uint, int, int>)closeRange,
                    (delegate* unmanaged[SuppressGCTransition]<int, byte*, nuint, int, nint>)send,
                    (delegate* unmanaged[SuppressGCTransition]<int, void>)exit);
            }
        }
        catch (DllNotFoundException)
        {
        }

        return null;
    }

    private sealed class Entries(
        delegate* unmanaged[SuppressGCTransition]<int> fork,
        delegate* unmanaged[SuppressGCTransition]<uint, uint, int, int> closeRange,
        delegate* unmanaged[SuppressGCTransition]<int, byte*, nuint, int, nint> send,
        delegate* unmanaged[SuppressGCTransition]<int, void> exit)
    {
        internal delegate* unmanaged[SuppressGCTransition]<int> Fork { get; } = fork;

        internal delegate* unmanaged[SuppressGCTransition]<uint, uint, int, int> CloseRange { get; } = closeRange;

        internal delegate* unmanaged[SuppressGCTransition]<int, byte*, nuint, int, nint> Send { get; } = send;

        internal delegate* unmanaged[SuppressGCTransition]<int, void> Exit { get; } = exit;
    }
}
