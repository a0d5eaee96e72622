namespace Patronus.Agent.Paths;

/// <summary>A path as its probes see it now.</summary>
public readonly record struct PathStatus(PathState State, TimeSpan StateSince, PathQuality Quality, double Score, TimeSpan? LastReplyAt);

/// <summary>What became of a reply handed to <see cref="PathMonitor.Answered"/>.</summary>
public enum ReplyVerdict
{
    Accepted,

    /// <summary>No probe with this sequence is waiting: never sent, already answered, or given up on.</summary>
    NotWaiting,

    /// <summary>The echoed send time is not the one this probe was sent with: not our reply.</summary>
    TimestampMismatch,
}

/// <summary>
/// One path's probes and their outcomes: hands out sequence numbers, matches replies to the probes still waiting,
/// gives up on those unanswered for the detection time (a loss), and feeds <see cref="PathQualityEstimator"/> and
/// <see cref="PathHealth"/>. Pure: the prober passes the time in; not thread-safe.
/// </summary>
public sealed class PathMonitor
{
    // Probes wait at most the detection time, far fewer than this many intervals, so a slot is free again long
    // before its sequence number comes round.
    private const int Slots = 256;

    private readonly TimeSpan[] _sentAt = new TimeSpan[Slots];
    private readonly uint[] _sequenceInSlot = new uint[Slots];
    private readonly bool[] _waiting = new bool[Slots];
    private readonly PathQualityEstimator _quality;
    private readonly PathHealth _health;
    private uint _nextSequence;
    private int _oldestWaiting;
    private TimeSpan? _lastReplyAt;
    private TimeSpan? _lastEvaluatedAt;
    private uint? _lastAnsweredSequence;
    private readonly uint _firstSequence;
    private readonly TimeSpan _stallAfter;

    public PathMonitor(PathHealthOptions options, TimeSpan now, uint firstSequence = 0)
    {
        _health = new PathHealth(options, now);
        _stallAfter = options.ProbeInterval * 2;
        _quality = new PathQualityEstimator(options.LossWindow);
        _nextSequence = firstSequence;
        _firstSequence = firstSequence;
        _oldestWaiting = (int)(firstSequence % Slots);
    }

    public PathStatus Status
    {
        get
        {
            var quality = _quality.Quality;
            return new PathStatus(_health.State, _health.StateSince, quality, PathScore.Of(quality), _lastReplyAt);
        }
    }

    /// <summary>Records a probe sent now and returns the sequence number it must carry.</summary>
    public uint ProbeSent(TimeSpan now)
    {
        var sequence = _nextSequence++;
        var slot = (int)(sequence % Slots);
        if (_waiting[slot])
        {
            // Only reachable when probes are sent far faster than they expire: the old one counts as lost.
            _waiting[slot] = false;
            GaveUp(now);
        }
        _sentAt[slot] = now;
        _sequenceInSlot[slot] = sequence;
        _waiting[slot] = true;
        return sequence;
    }

    /// <summary>A reply to probe <paramref name="sequence"/>, echoing <paramref name="echoedSentAt"/>, arrived now.</summary>
    public ReplyVerdict Answered(uint sequence, TimeSpan echoedSentAt, TimeSpan now)
    {
        var slot = (int)(sequence % Slots);
        if (!_waiting[slot] || _sequenceInSlot[slot] != sequence)
            return ReplyVerdict.NotWaiting;
        if (_sentAt[slot] != echoedSentAt)
            return ReplyVerdict.TimestampMismatch;
        _waiting[slot] = false;
        var rtt = now - _sentAt[slot];
        _quality.Replied(Math.Max(0, rtt.TotalMilliseconds));
        _lastReplyAt = now;
        if (_lastAnsweredSequence is not { } previous || (int)(sequence - previous) > 0)
            _lastAnsweredSequence = sequence;
        _health.Answered(_sentAt[slot], now, PathScore.Of(_quality.Quality));
        return ReplyVerdict.Accepted;
    }

    /// <summary>Gives up on probes unanswered for the detection time and takes a silent path Down. Call on every tick.</summary>
    public void Evaluate(TimeSpan now)
    {
        // A tick far later than the interval means this process was not running (descheduled, paused for GC):
        // replies may be waiting unread in the socket, so silence proves nothing yet. Judge on the next tick.
        var stalled = _lastEvaluatedAt is { } last && now - last > _stallAfter;
        _lastEvaluatedAt = now;
        if (stalled)
            return;
        var timeout = _health.DetectTimeFor(_quality.Quality.LatencyMs);
        // Walk from the oldest probe still possibly waiting; sequences are sent in time order, so stop at the
        // first one still inside its timeout.
        var newest = (int)(_nextSequence % Slots);
        while (_oldestWaiting != newest)
        {
            if (_waiting[_oldestWaiting])
            {
                if (now - _sentAt[_oldestWaiting] < timeout)
                    break;
                _waiting[_oldestWaiting] = false;
                GaveUp(now);
            }
            _oldestWaiting = (_oldestWaiting + 1) % Slots;
        }
        _health.Evaluate(now, _quality.Quality.LatencyMs, _lastAnsweredSequence is { } answered ? (uint)(_nextSequence - 1 - answered) : _nextSequence - _firstSequence);
    }

    private void GaveUp(TimeSpan now)
    {
        _quality.Lost();
        _health.Lost(now, PathScore.Of(_quality.Quality));
    }
}
