namespace Patronus.Agent.Paths;

/// <summary>
/// A path's score from 0 to 100, from the MOS-style formula in ARCHITECTURE.md (ITU-T G.107's E-model, simplified
/// as SD-WAN products do):
/// <code>
/// EffLat = latency + 2·jitter + 10
/// R      = 93.2 − EffLat/40             if EffLat &lt; 160
///        = 93.2 − (EffLat − 120)/10     otherwise
/// R     −= 2.5 · loss%
/// MOS    = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R)     (R clamped to 0..100 first, as G.107 does)
/// score  = 100 · (MOS − 1) / (MOSmax − 1)
/// </code>
/// MOSmax is the MOS of a perfect path (latency, jitter and loss 0: R = 92.95, MOS ≈ 4.40), so a perfect path
/// scores 100 and the worst (MOS 1) scores 0; the mapping is linear in MOS, so score 80 is MOS ≈ 3.7 ("fair" to
/// "good") and score 60 is MOS ≈ 3.0. Latency and jitter are the probes' round-trip figures in milliseconds.
/// </summary>
public static class PathScore
{
    /// <summary>The MOS of a perfect path: the top of the 0..100 scale.</summary>
    public static readonly double PerfectMos = Mos(0, 0, 0);

    public static double RFactor(double latencyMs, double jitterMs, double lossRatio)
    {
        var effectiveLatency = latencyMs + 2 * jitterMs + 10;
        var r = effectiveLatency < 160 ? 93.2 - effectiveLatency / 40 : 93.2 - (effectiveLatency - 120) / 10;
        return r - 2.5 * (lossRatio * 100);
    }

    public static double Mos(double latencyMs, double jitterMs, double lossRatio)
    {
        var r = Math.Clamp(RFactor(latencyMs, jitterMs, lossRatio), 0, 100);
        return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
    }

    /// <summary>The score of a path with this quality; 0 for a path that has never answered.</summary>
    public static double Of(PathQuality quality) =>
        quality.LatencyMs is { } latency ? Of(latency, quality.JitterMs, quality.LossRatio) : 0;

    public static double Of(double latencyMs, double jitterMs, double lossRatio) =>
        Math.Clamp(100 * (Mos(latencyMs, jitterMs, lossRatio) - 1) / (PerfectMos - 1), 0, 100);
}
