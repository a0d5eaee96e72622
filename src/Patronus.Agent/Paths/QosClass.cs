namespace Patronus.Agent.Paths;

/// <summary>What a class of traffic prefers among the paths that meet its SLA.</summary>
public enum PathPreference
{
    /// <summary>The lowest smoothed latency.</summary>
    LowestLatency,

    /// <summary>The highest score.</summary>
    HighestScore,

    /// <summary>The most spare capacity (then the highest score where capacity is unknown).</summary>
    MostSpareCapacity,
}

/// <summary>
/// A service level: what a path must offer to carry a class's traffic. Latency and jitter are round-trip
/// milliseconds as the probes measure them; loss is over the loss window.
/// </summary>
/// <param name="MaxLatencyMs">Highest smoothed round-trip time.</param>
/// <param name="MaxJitterMs">Highest jitter; null for no limit.</param>
/// <param name="MaxLossRatio">Highest loss, 0 to 1.</param>
/// <param name="MinBandwidthMbps">Least path capacity, where the capacity is known; null for no minimum.</param>
public sealed record QosSla(double MaxLatencyMs, double? MaxJitterMs, double MaxLossRatio, double? MinBandwidthMbps = null)
{
    /// <summary>True when the path meets every bound, each tightened by <paramref name="margin"/> (0.1 = 10% inside).</summary>
    public bool IsMetBy(PathCandidate path, double margin = 0)
    {
        if (path.State == PathState.Down || path.Quality.LatencyMs is not { } latency)
            return false;
        var inside = 1 - margin;
        if (latency > MaxLatencyMs * inside)
            return false;
        if (MaxJitterMs is { } maxJitter && path.Quality.JitterMs > maxJitter * inside)
            return false;
        if (path.Quality.LossRatio > MaxLossRatio * inside)
            return false;
        return MinBandwidthMbps is not { } minimum || path.CapacityMbps is not { } capacity || capacity >= minimum;
    }
}

/// <summary>
/// A QoS class: a name users put in <c>patronus.io/qos-class</c>, its SLA and what it prefers. The three classes:
/// <list type="table">
/// <item><term>latency-sensitive</term><description>RTT ≤ 150 ms, jitter ≤ 30 ms, loss ≤ 1%; lowest latency (voice, video, interactive RPCs).</description></item>
/// <item><term>best-effort</term><description>RTT ≤ 400 ms, no jitter bound, loss ≤ 5%; highest score (the default).</description></item>
/// <item><term>bulk</term><description>RTT ≤ 1000 ms, no jitter bound, loss ≤ 2%; most spare capacity (backups, replication: throughput suffers from loss more than from delay).</description></item>
/// </list>
/// </summary>
public sealed record QosClass(string Name, QosSla Sla, PathPreference Preference)
{
    public const string LatencySensitiveName = "latency-sensitive";
    public const string BestEffortName = "best-effort";
    public const string BulkName = "bulk";

    public static readonly QosClass LatencySensitive = new(LatencySensitiveName, new QosSla(150, 30, 0.01), PathPreference.LowestLatency);
    public static readonly QosClass BestEffort = new(BestEffortName, new QosSla(400, null, 0.05), PathPreference.HighestScore);
    public static readonly QosClass Bulk = new(BulkName, new QosSla(1000, null, 0.02), PathPreference.MostSpareCapacity);

    public static IReadOnlyList<QosClass> All { get; } = [LatencySensitive, BestEffort, Bulk];

    /// <summary>The class named exactly <paramref name="name"/> (lower case, as in the annotation), or null.</summary>
    public static QosClass? Find(string? name)
    {
        foreach (var known in All)
        {
            if (known.Name == name)
                return known;
        }
        return null;
    }

    /// <summary>
    /// The default class from configuration (the seed's <c>sdwan.default_qos_class</c>); null or empty keeps
    /// best-effort, an unknown name is refused naming the setting.
    /// </summary>
    public static QosClass ParseDefault(string? configured, string settingName = "sdwan.default_qos_class")
    {
        if (string.IsNullOrWhiteSpace(configured))
            return BestEffort;
        return Find(configured.Trim())
            ?? throw new ArgumentException($"{settingName}: unknown QoS class \"{configured}\" (expected {string.Join(", ", All.Select(c => c.Name))})", settingName);
    }
}
