using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Patronus.Agent.Datapath.Nftables.Interop;

namespace Patronus.Agent.Datapath.Nftables;

/// <summary>
/// A dedicated thread that joins a network namespace once (setns) and runs every piece of work given to
/// it there. The namespace is a property of the thread, so it must never be a pool thread, and it exits
/// when disposed so no other code ever runs in the joined namespace.
/// </summary>
internal sealed class NamespaceThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    /// <param name="netnsPath">A network namespace file (e.g. /var/run/netns/node1); null stays in the process's namespace.</param>
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
                using var fd = File.OpenHandle(netnsPath, FileMode.Open, FileAccess.Read);
                if (LibC.SetNs(fd, LibC.CloneNewNet) != 0)
                    throw new IOException($"setns into network namespace {netnsPath} failed: errno {Marshal.GetLastPInvokeError()}");
            }
            catch (Exception e)
            {
                started.SetException(e);
                return;
            }
        }
        started.SetResult();
        foreach (var item in _work.GetConsumingEnumerable())
            item();
    }

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
            _thread.Join();
        _work.Dispose();
    }
}
