using System.Globalization;

namespace Patronus.Netlink;

/// <summary>What a tbf qdisc is configured with: rate, bucket size (in psched ticks) and queue limit.</summary>
public readonly record struct TokenBucketParameters(ulong RateBytesPerSec, uint BufferTicks, uint LimitBytes);

/// <summary>
/// The tbf arithmetic of the reference CNI bandwidth plugin (plugins/meta/bandwidth): rate and burst come
/// in bits; the bucket (buffer) is the time the burst takes at the rate, in psched ticks; the queue limit
/// holds 25 ms of traffic at the rate plus the burst. Same float steps, same truncations, so a CHECK
/// against qdiscs made by either plugin compares equal.
/// </summary>
public static class TokenBucket
{
    /// <summary>Queueing latency the reference plugin allows for.</summary>
    public const double LatencyMilliseconds = 25;

    private const double MicrosecondsPerSecond = 1_000_000;

    private static readonly Lazy<double> TicksPerMicrosecondValue = new(ReadTicksPerMicrosecond);

    /// <summary>psched ticks per microsecond, from /proc/net/psched (15.625 with 64 ns ticks).</summary>
    public static double TicksPerMicrosecond => TicksPerMicrosecondValue.Value;

    /// <summary>Computes tbf parameters from a rate and a burst in bits, as the bandwidth plugin does.</summary>
    public static TokenBucketParameters FromBits(ulong rateBits, ulong burstBits)
    {
        if (rateBits < 8)
        {
            throw new ArgumentOutOfRangeException(nameof(rateBits), rateBits, "rate must be at least 8 bits per second");
        }

        if (burstBits < 8)
        {
            throw new ArgumentOutOfRangeException(nameof(burstBits), burstBits, "burst must be at least 8 bits");
        }

        if (burstBits / 8 >= uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(burstBits), burstBits, "burst cannot be more than 4GB");
        }

        var rateBytes = rateBits / 8;
        var burstBytes = (uint)(burstBits / 8);
        return new TokenBucketParameters(rateBytes, BufferTicks(rateBytes, burstBytes), LimitBytes(rateBytes, burstBytes));
    }

    /// <summary>The time <paramref name="burstBytes"/> take at <paramref name="rateBytesPerSec"/>, in psched ticks.</summary>
    public static uint BufferTicks(ulong rateBytesPerSec, uint burstBytes)
        => BufferTicks(rateBytesPerSec, burstBytes, TicksPerMicrosecond);

    internal static uint BufferTicks(ulong rateBytesPerSec, uint burstBytes, double ticksPerMicrosecond)
    {
        var microseconds = (uint)(burstBytes * MicrosecondsPerSecond / rateBytesPerSec);
        return (uint)(microseconds * ticksPerMicrosecond);
    }

    /// <summary>Bytes of <see cref="LatencyMilliseconds"/> at the rate, plus the burst.</summary>
    public static uint LimitBytes(ulong rateBytesPerSec, uint burstBytes)
    {
        var latencyMicroseconds = MicrosecondsPerSecond * (LatencyMilliseconds / 1000.0);
        return (uint)(rateBytesPerSec * latencyMicroseconds / MicrosecondsPerSecond) + burstBytes;
    }

    /// <summary>
    /// /proc/net/psched holds four hex numbers: ns per µs, ns per tick, clock resolution, and (old kernels) HZ.
    /// Like iproute2's tc_core_init: with a 1 GHz clock resolution the first equals the second.
    /// </summary>
    internal static double ParsePsched(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length < 3)
        {
            throw new FormatException($"/proc/net/psched \"{text.Trim()}\" has fewer than 3 fields");
        }

        var t2us = uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var us2t = uint.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var clockResolution = uint.Parse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (clockResolution == 1_000_000_000)
        {
            t2us = us2t;
        }

        var clockFactor = clockResolution / MicrosecondsPerSecond;
        return (double)t2us / us2t * clockFactor;
    }

    private static double ReadTicksPerMicrosecond() => ParsePsched(File.ReadAllText("/proc/net/psched"));
}
