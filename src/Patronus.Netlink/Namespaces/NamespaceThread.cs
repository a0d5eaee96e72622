using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Patronus.Netlink.Interop;

namespace Patronus.Netlink;

/// <summary>
/// A dedicated thread that joins a network namespace once (setns) and runs every piece of work given to it there:
/// for long-lived state bound to the namespace of the thread that uses it (a libnftables context, a libbpf object,
/// a netlink handle reused across calls), where <see cref="NetNs.Run{T}"/>'s thread per call would not do. The
/// namespace is a property of the thread, so it is never a pool thread, and it exits when disposed so no other
/// code ever runs in the joined namespace.
/// </summary>
public sealed class NamespaceThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    /// <param name="netnsPath">A network namespace file (e.g. /var/run/netns/node1); null stays in the process's namespace.</param>
    /// <param name="name">The thread's name, for debuggers and /proc.</param>
    /// <exception cref="NetlinkException">The namespace cannot be opened or entered.</exception>
    /// <exception cref="ArgumentException">The file is not a network namespace.</exception>
    public NamespaceThread(string? netnsPath, string name)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => Loop(netnsPath, started)) { IsBackground = true, Name = name };
        _thread.Start();
        started.Task.GetAwaiter().GetResult();
    }

    private void Loop(string? netnsPath, TaskCompletionSource started)
    {
        if (netnsPath is not null)
        {
            try
            {
                using var ns = NetNs.OpenPath(netnsPath);
                if (Libc.SetNs(ns.Descriptor, Libc.CLONE_NEWNET) != 0)
                {
                    throw NetlinkException.FromLastError("enter", $"network namespace {netnsPath}");
                }
            }
            catch (Exception e)
            {
                started.SetException(e);
                return;
            }
        }

        started.SetResult();
        foreach (var item in _work.GetConsumingEnumerable())
        {
            item();
        }
    }

    /// <summary>Runs <paramref name="func"/> on the thread, in its namespace, and returns its result; its exception propagates.</summary>
    public T Invoke<T>(Func<T> func)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try
            {
                result = func();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
        return result;
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _work.Dispose();
    }
}
