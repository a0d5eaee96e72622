namespace Patronus.Agent.Paths;

/// <summary>A path's measured quality at one moment. Latency and jitter are round-trip figures in milliseconds.</summary>
/// <param name="LatencyMs">Smoothed round-trip time; null before the first reply.</param>
/// <param name="JitterMs">Interarrival jitter of the round-trip time (RFC 3550 §6.4.1 style); 0 before two replies.</param>
/// <param name="LossRatio">Lost probes over the probes decided in the sliding window, 0 to 1.</param>
/// <param name="Samples">Probes decided (answered or lost) in the window.</param>
public readonly record struct PathQuality(double? LatencyMs, double JitterMs, double LossRatio, int Samples);

/// <summary>
/// Turns probe outcomes into <see cref="PathQuality"/>:
/// <list type="bullet">
/// <item>latency: an exponentially weighted moving average of the RTT, <c>srtt += (rtt − srtt) / 8</c> (the gain
/// TCP uses for its smoothed RTT, RFC 6298 §2), seeded with the first RTT;</item>
/// <item>jitter: RFC 3550 §6.4.1's estimator applied to consecutive RTTs, <c>J += (|rttᵢ − rttᵢ₋₁| − J) / 16</c>:
/// the RTT difference stands in for the transit-time difference, so no clock sync with the far end is needed;</item>
/// <item>loss: the share of lost probes among the last <see cref="WindowSize"/> decided probes (answered or given up
/// on), a sliding window rather than a decaying average so that a path that stops losing is clean again after
/// exactly one window.</item>
/// </list>
/// Pure: no clock, no I/O; not thread-safe.
/// </summary>
public sealed class PathQualityEstimator
{
    public const int DefaultWindowSize = 20;

    private const double LatencyGain = 1.0 / 8;
    private const double JitterGain = 1.0 / 16;

    private readonly bool[] _lostRing;
    private int _ringNext;
    private int _ringCount;
    private int _lostInWindow;
    private double? _smoothedRtt;
    private double? _previousRtt;
    private double _jitter;

    public PathQualityEstimator(int windowSize = DefaultWindowSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSize, 1);
        _lostRing = new bool[windowSize];
    }

    public int WindowSize => _lostRing.Length;

    public PathQuality Quality => new(_smoothedRtt, _jitter, _ringCount == 0 ? 0 : (double)_lostInWindow / _ringCount, _ringCount);

    /// <summary>A probe answered after <paramref name="rttMs"/> milliseconds.</summary>
    public void Replied(double rttMs)
    {
        if (!double.IsFinite(rttMs) || rttMs < 0)
            throw new ArgumentOutOfRangeException(nameof(rttMs), rttMs, "a round-trip time is a finite, non-negative number of milliseconds");
        _smoothedRtt = _smoothedRtt is { } srtt ? srtt + (rttMs - srtt) * LatencyGain : rttMs;
        if (_previousRtt is { } previous)
            _jitter += (Math.Abs(rttMs - previous) - _jitter) * JitterGain;
        _previousRtt = rttMs;
        Record(lost: false);
    }

    /// <summary>A probe given up on (its reply did not come back in time).</summary>
    public void Lost() => Record(lost: true);

    private void Record(bool lost)
    {
        if (_ringCount == _lostRing.Length)
        {
            if (_lostRing[_ringNext])
                _lostInWindow--;
        }
        else
        {
            _ringCount++;
        }
        _lostRing[_ringNext] = lost;
        if (lost)
            _lostInWindow++;
        _ringNext = (_ringNext + 1) % _lostRing.Length;
    }
}
