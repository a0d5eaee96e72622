namespace Patronus.Cli.Lab.Wan;

/// <summary>
/// Frames held until their due time, handed out in due order; frames due at the same time leave in the order they
/// came. Without jitter due times never decrease, so frames keep their order; with jitter a frame may overtake an
/// earlier one whose draw was larger, as on a real path with jitter. Not thread-safe: the relay locks around it.
/// </summary>
public sealed class DelayLine<T>
{
    private readonly PriorityQueue<T, (double Due, long Sequence)> _frames = new();
    private long _sequence;

    public int Count => _frames.Count;

    public void Add(T frame, double due) => _frames.Enqueue(frame, (due, _sequence++));

    /// <summary>The earliest due time, or null when empty.</summary>
    public double? NextDue => _frames.TryPeek(out _, out var key) ? key.Due : null;

    /// <summary>The first frame if it is due by <paramref name="now"/>.</summary>
    public bool TryTakeDue(double now, out T frame)
    {
        if (_frames.TryPeek(out frame!, out var key) && key.Due <= now)
        {
            _frames.Dequeue();
            return true;
        }
        frame = default!;
        return false;
    }

    /// <summary>Everything held (the link went down).</summary>
    public List<T> TakeAll()
    {
        var all = new List<T>(_frames.Count);
        while (_frames.TryDequeue(out var frame, out _))
            all.Add(frame);
        return all;
    }
}
