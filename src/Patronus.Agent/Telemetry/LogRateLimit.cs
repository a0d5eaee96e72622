namespace Patronus.Agent.Telemetry;

/// <summary>
/// Lets a few log lines of one kind through per window and counts the rest, so whoever floods the agent with
/// bad requests cannot flood its log too; the next line let through says how many were left out. The
/// counters in <see cref="AgentMetrics"/> still see every one.
/// </summary>
public sealed class LogRateLimit(int perWindow, TimeSpan window, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private long _windowStart = long.MinValue;
    private int _inWindow;
    private long _suppressed;

    /// <summary>True when this line may be logged; <paramref name="suppressed"/> is how many were left out since the last one that was.</summary>
    public bool TryEnter(out long suppressed)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (_windowStart == long.MinValue || _time.GetElapsedTime(_windowStart, now) >= window)
            {
                _windowStart = now;
                _inWindow = 0;
            }
            if (_inWindow < perWindow)
            {
                _inWindow++;
                suppressed = _suppressed;
                _suppressed = 0;
                return true;
            }
            _suppressed++;
            suppressed = 0;
            return false;
        }
    }
}
