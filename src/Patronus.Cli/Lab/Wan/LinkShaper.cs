namespace Patronus.Cli.Lab.Wan;

/// <summary>
/// What one direction of a WAN link does to a frame: drop it (link down, a loss draw, or a full queue) or hold it
/// until a due time. Pure: time comes in as an argument and chance from the <see cref="Random"/> given, so every rule
/// is tested by feeding frames. The order of the rules is the order on a real path: the rate limiter (a token bucket
/// ahead of a queue) first, then the propagation delay with its jitter, then the loss draw.
/// </summary>
/// <remarks>
/// The token bucket is kept as a GCRA virtual clock (<see cref="_theoreticalArrival"/>, when everything admitted so far
/// would have been sent at the rate): a frame may leave at once while that lies at most the bucket's depth
/// (<see cref="BurstSeconds"/>, at least two full frames) ahead of now, otherwise it waits in the queue until it does; a frame that would wait longer than <see cref="QueueSeconds"/> is dropped (tail drop), as
/// tc's tbf does past its latency.
/// </remarks>
public sealed class LinkShaper(Random random)
{
    /// <summary>How much a sender may send at line speed after an idle spell: 5 ms worth of the rate.</summary>
    public const double BurstSeconds = 0.005;

    /// <summary>The longest a frame waits for the rate limiter before it is dropped: a queue of 100 ms.</summary>
    public const double QueueSeconds = 0.1;

    private double _theoreticalArrival = double.NegativeInfinity;

    public WanLinkSettings Settings { get; private set; } = new(0, 0, 0, null);

    /// <summary>Frames dropped by each rule since the start: for the relay's log and for tests.</summary>
    public long DroppedDown { get; private set; }
    public long DroppedLoss { get; private set; }
    public long DroppedQueue { get; private set; }

    /// <summary>New settings apply to the next frame; a changed rate starts with a full bucket.</summary>
    public void Apply(WanLinkSettings settings)
    {
        if (settings.Rate != Settings.Rate)
            _theoreticalArrival = double.NegativeInfinity;
        Settings = settings;
    }

    /// <param name="now">Seconds on a monotonic clock.</param>
    /// <param name="bytes">The frame's length on the wire (its Ethernet header included).</param>
    /// <param name="due">When to deliver the frame (seconds on the same clock), when it is not dropped.</param>
    /// <returns>False: the frame is dropped.</returns>
    public bool Admit(double now, int bytes, out double due)
    {
        due = now;
        var settings = Settings;
        if (!settings.Up)
        {
            DroppedDown++;
            return false;
        }
        var departure = now;
        if (settings.Rate is { } mbit)
        {
            var bitsPerSecond = mbit * 1e6;
            var cost = bytes * 8 / bitsPerSecond;
            var burst = Math.Max(BurstSeconds, 2 * 1514 * 8 / bitsPerSecond);
            var arrival = Math.Max(_theoreticalArrival, now) + cost;
            departure = Math.Max(now, arrival - burst);
            if (departure - now > QueueSeconds)
            {
                DroppedQueue++;
                return false;
            }
            _theoreticalArrival = arrival;
        }
        // The loss draw comes after the queue, like a lossy line behind a router: a lost frame still used its slot.
        if (settings.Loss > 0 && random.NextDouble() * 100 < settings.Loss)
        {
            DroppedLoss++;
            return false;
        }
        var delay = settings.Delay;
        if (settings.Jitter > 0)
            delay += (random.NextDouble() * 2 - 1) * settings.Jitter;
        due = departure + Math.Max(0, delay) / 1000;
        return true;
    }
}
