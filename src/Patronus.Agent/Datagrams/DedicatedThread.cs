namespace Patronus.Agent.Datagrams;

/// <summary>
/// Runs a long loop on a thread of its own and returns a task that completes when it ends: for the loops whose
/// timing is the feature (probes every few tens of milliseconds, failover within 300 ms), which must not wait
/// behind whatever else the thread pool is busy with.
/// </summary>
public static class DedicatedThread
{
    public static Task RunAsync(string name, Action loop)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                loop();
                done.TrySetResult();
            }
            catch (OperationCanceledException e)
            {
                done.TrySetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
