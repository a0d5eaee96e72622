using Microsoft.Extensions.Logging;

namespace Patronus.Kubernetes.Informers;

/// <summary>
/// Runs the cluster sources and keeps them running. A source whose run ends (an exception nobody caught, or a
/// return it should never make) is restarted after a backoff, every time; from its failure until its next
/// complete view (<see cref="IResourceSource.Syncs"/> moving on) <see cref="Problem"/> says so, which is what
/// readiness reports. A source that stopped silently would leave the agent enforcing a cluster that no
/// longer exists while claiming all is well.
/// </summary>
public sealed partial class SourceSupervisor
{
    private readonly IReadOnlyList<IResourceSource> _sources;
    private readonly ILogger _logger;
    private readonly TimeSpan _initialBackoff;
    private readonly TimeSpan _maxBackoff;
    private readonly Failure?[] _failures;

    public SourceSupervisor(IReadOnlyList<IResourceSource> sources, ILogger logger, TimeSpan? initialBackoff = null, TimeSpan? maxBackoff = null)
    {
        _sources = sources;
        _logger = logger;
        _initialBackoff = initialBackoff ?? TimeSpan.FromMilliseconds(500);
        _maxBackoff = maxBackoff ?? TimeSpan.FromSeconds(30);
        _failures = new Failure?[sources.Count];
    }

    private sealed record Failure(int SyncsAtFailure, string Error);

    public IReadOnlyList<IResourceSource> Sources => _sources;

    /// <summary>Raised on each failure of a source's run, before it is restarted.</summary>
    public event Action<IResourceSource, Exception>? SourceFailed;

    /// <summary>Completes once every source has delivered its first complete view.</summary>
    public Task Synced => Task.WhenAll(_sources.Select(s => s.Synced));

    /// <summary>Null while every source runs and is whole; otherwise which one is not, and why.</summary>
    public string? Problem
    {
        get
        {
            var problems = new List<string>();
            for (var i = 0; i < _sources.Count; i++)
                if (Volatile.Read(ref _failures[i]) is { } failure && _sources[i].Syncs <= failure.SyncsAtFailure)
                    problems.Add($"cluster source {_sources[i]} stopped ({failure.Error}); restarting");
            return problems.Count == 0 ? null : string.Join("; ", problems);
        }
    }

    /// <summary>Runs every source until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_sources.Select((source, index) => Task.Run(() => SuperviseAsync(source, index, cancellationToken), CancellationToken.None)));

    private async Task SuperviseAsync(IResourceSource source, int index, CancellationToken cancellationToken)
    {
        var consecutive = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var syncsAtStart = source.Syncs;
            Exception failure;
            try
            {
                await source.RunAsync(cancellationToken).ConfigureAwait(false);
                if (cancellationToken.IsCancellationRequested)
                    return;
                failure = new InvalidOperationException("its run ended on its own");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failure = e;
            }

            // A run that got somewhere before failing starts the backoff over.
            consecutive = source.Syncs > syncsAtStart ? 1 : consecutive + 1;
            var delay = TimeSpan.FromMilliseconds(Math.Min(_maxBackoff.TotalMilliseconds, _initialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(consecutive - 1, 16))));
            Log.SourceStopped(_logger, source.ToString() ?? "source", failure.GetType().Name, failure.Message, delay.TotalMilliseconds);
            // Counted before it shows in Problem: whoever sees readiness fall finds the failure counted.
            SourceFailed?.Invoke(source, failure);
            Volatile.Write(ref _failures[index], new Failure(source.Syncs, failure.Message));
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Cluster source {Source} stopped ({Type}: {Error}); restarting in {DelayMs} ms, not ready until it has synced again")]
        public static partial void SourceStopped(ILogger logger, string source, string type, string error, double delayMs);
    }
}
