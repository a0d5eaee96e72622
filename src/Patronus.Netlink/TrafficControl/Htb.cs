namespace Patronus.Netlink;

/// <summary>
/// An HTB class: traffic in it gets at least <see cref="RateBytesPerSec"/> and may borrow up to
/// <see cref="CeilBytesPerSec"/> from its parent while the parent has room: a guaranteed minimum for one pod
/// (or QoS class) on a shared tunnel, with the rest shared.
/// </summary>
public sealed record HtbClass
{
    /// <summary>major:minor (<see cref="TcHandle.Make"/>); the major is the HTB qdisc's.</summary>
    public required uint ClassId { get; init; }

    /// <summary>The parent class, or 0 for the qdisc itself (major:0).</summary>
    public uint Parent { get; init; }

    /// <summary>The guaranteed rate.</summary>
    public required ulong RateBytesPerSec { get; init; }

    /// <summary>The most the class may use by borrowing; null means the rate (no borrowing).</summary>
    public ulong? CeilBytesPerSec { get; init; }

    /// <summary>
    /// Bytes the class may send at full speed above its rate; null picks the larger of 1600 bytes (tc's default)
    /// and one millisecond at the rate, since a bucket smaller than a timer tick's worth caps fast classes below
    /// their rate.
    /// </summary>
    public uint? BurstBytes { get; init; }

    /// <summary>As <see cref="BurstBytes"/>, for the ceiling.</summary>
    public uint? CeilBurstBytes { get; init; }

    /// <summary>0 (first) to 7: which class borrows spare bandwidth first.</summary>
    public uint Priority { get; init; }

    internal uint ParentHandle => Parent != 0 ? Parent : TcHandle.Make(TcHandle.Major(ClassId), 0);

    internal static uint DefaultBurst(ulong rateBytesPerSec) => (uint)Math.Min(uint.MaxValue, Math.Max(1600UL, rateBytesPerSec / 1000));

    internal void Validate()
    {
        if (TcHandle.Minor(ClassId) == 0 || TcHandle.Major(ClassId) == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ClassId), TcHandle.Format(ClassId), "an HTB class id needs a major and a non-zero minor (like 1:10)");
        }

        if (Parent != 0 && TcHandle.Major(Parent) != TcHandle.Major(ClassId))
        {
            throw new ArgumentException($"HTB class {TcHandle.Format(ClassId)} and its parent {TcHandle.Format(Parent)} must share a major", nameof(Parent));
        }

        if (RateBytesPerSec == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RateBytesPerSec), RateBytesPerSec, $"HTB class {TcHandle.Format(ClassId)} needs a positive rate");
        }

        if (CeilBytesPerSec is { } ceil && ceil < RateBytesPerSec)
        {
            throw new ArgumentOutOfRangeException(nameof(CeilBytesPerSec), ceil, $"HTB class {TcHandle.Format(ClassId)}: ceil must be at least the rate ({RateBytesPerSec} bytes/s)");
        }

        if (BurstBytes is 0 || CeilBurstBytes is 0)
        {
            throw new ArgumentOutOfRangeException(BurstBytes is 0 ? nameof(BurstBytes) : nameof(CeilBurstBytes), 0, "burst must be positive");
        }

        if (Priority > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(Priority), Priority, "HTB priority must be 0-7");
        }
    }
}

/// <summary>An HTB class's parameters as the kernel stores them: rates in bytes/s, buckets in psched ticks.</summary>
public readonly record struct HtbClassParameters(ulong RateBytesPerSec, ulong CeilBytesPerSec, uint BufferTicks, uint CeilBufferTicks, uint Priority);

/// <summary>
/// A traffic class as RTM_NEWTCLASS describes it; <see cref="Htb"/> is set for an HTB class. A class directly
/// under its qdisc has <see cref="Parent"/> <see cref="TcHandle.Root"/>, as the kernel reports it.
/// </summary>
public sealed record TrafficClass(int LinkIndex, uint Handle, uint Parent, string Kind, HtbClassParameters? Htb);
