namespace Patronus.Agent.Paths;

/// <summary>How a path's state is decided from its probes. The defaults detect a dead path in 150 ms at the default interval.</summary>
public sealed record PathHealthOptions
{
    /// <summary>Time between two probes on a path. The issue asks for at most 100 ms; 50 ms makes detection 150 ms.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// A path is Down once no probe sent in the last <c>DetectMultiplier × ProbeInterval</c> has been answered
    /// (BFD's detect multiplier, RFC 5880 §6.8.4). The window widens to <c>2 × latency + ProbeInterval</c> for a path
    /// whose round trip is too long for it, so a slow path is not declared dead for being slow.
    /// </summary>
    public int DetectMultiplier { get; init; } = 3;

    /// <summary>Consecutive answered probes a Down path needs before it can leave Down.</summary>
    public int RecoverReplies { get; init; } = 3;

    /// <summary>How long a Down path must answer without a single loss before it leaves Down.</summary>
    public TimeSpan RecoverHoldDown { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>An Up path whose score stays below this for <see cref="DegradedSamples"/> samples becomes Degraded.</summary>
    public double DegradedBelowScore { get; init; } = 70;

    public int DegradedSamples { get; init; } = 3;

    /// <summary>A Degraded path whose score stays at or above this for <see cref="RecoveredSamples"/> samples is Up again.</summary>
    public double RecoveredAtScore { get; init; } = 80;

    public int RecoveredSamples { get; init; } = 5;

    /// <summary>Probe outcomes in the loss window (5 s at 50 ms: one loss is 1%).</summary>
    public int LossWindow { get; init; } = 100;

    public TimeSpan DetectTime => ProbeInterval * DetectMultiplier;

    /// <summary>Checks the options, naming the first bad one.</summary>
    public void Validate()
    {
        if (ProbeInterval <= TimeSpan.Zero || ProbeInterval > TimeSpan.FromSeconds(10))
            throw new ArgumentOutOfRangeException(nameof(ProbeInterval), ProbeInterval, "the probe interval must be above 0 and at most 10 s");
        if (DetectMultiplier < 2)
            throw new ArgumentOutOfRangeException(nameof(DetectMultiplier), DetectMultiplier, "the detect multiplier must be at least 2 (one lost probe must not take a path down)");
        if (RecoverReplies < 1)
            throw new ArgumentOutOfRangeException(nameof(RecoverReplies), RecoverReplies, "must be at least 1");
        if (RecoverHoldDown < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RecoverHoldDown), RecoverHoldDown, "must not be negative");
        if (DegradedSamples < 1 || RecoveredSamples < 1)
            throw new ArgumentOutOfRangeException(DegradedSamples < 1 ? nameof(DegradedSamples) : nameof(RecoveredSamples), "must be at least 1");
        if (DegradedBelowScore is < 0 or > 100 || RecoveredAtScore < DegradedBelowScore || RecoveredAtScore > 100)
            throw new ArgumentOutOfRangeException(nameof(RecoveredAtScore), RecoveredAtScore,
                "scores are 0-100 and the recovery score must be at least the degraded score (the gap is the hysteresis)");
        if (LossWindow < 1)
            throw new ArgumentOutOfRangeException(nameof(LossWindow), LossWindow, "must be at least 1");
    }
}

/// <summary>
/// A path's Up / Degraded / Down state machine, kept apart from the transport as BFD keeps its session state
/// apart from its packets: fed with answered and lost probes and the time, never reading a clock itself.
/// <list type="bullet">
/// <item>Down when no probe sent within the detection time has been answered and the multiplier's worth of probes
/// went unanswered (evaluated on <see cref="Evaluate"/>, which the prober calls on every tick): at a 50 ms interval
/// and multiplier 3, 150 ms after the last probe that came back was sent, whatever the score.</item>
/// <item>Out of Down only after <see cref="PathHealthOptions.RecoverReplies"/> answers in a row spanning
/// <see cref="PathHealthOptions.RecoverHoldDown"/>; a single loss restarts the count. A path starts Down.</item>
/// <item>Up → Degraded after <see cref="PathHealthOptions.DegradedSamples"/> scores in a row below
/// <see cref="PathHealthOptions.DegradedBelowScore"/>; Degraded → Up after <see cref="PathHealthOptions.RecoveredSamples"/>
/// in a row at or above <see cref="PathHealthOptions.RecoveredAtScore"/>. The gap between the two scores and the
/// run lengths are the hysteresis: a score wandering around one threshold moves nothing.</item>
/// </list>
/// </summary>
public sealed class PathHealth
{
    private readonly PathHealthOptions _options;
    private readonly TimeSpan _createdAt;
    private TimeSpan? _lastAnsweredSentAt;
    private int _answeredRun;
    private TimeSpan _answeredRunStart;
    private int _lowScoreRun;
    private int _highScoreRun;

    public PathHealth(PathHealthOptions options, TimeSpan now)
    {
        options.Validate();
        _options = options;
        _createdAt = now;
        StateSince = now;
    }

    public PathState State { get; private set; } = PathState.Down;

    public TimeSpan StateSince { get; private set; }

    /// <summary>The detection time for a path of this latency (see <see cref="PathHealthOptions.DetectMultiplier"/>).</summary>
    public TimeSpan DetectTimeFor(double? latencyMs)
    {
        var detect = _options.DetectTime;
        if (latencyMs is { } latency)
        {
            var slowPath = TimeSpan.FromMilliseconds(2 * latency) + _options.ProbeInterval;
            if (slowPath > detect)
                detect = slowPath;
        }
        return detect;
    }

    /// <summary>A probe sent at <paramref name="sentAt"/> was answered at <paramref name="now"/>; the path now scores <paramref name="score"/>.</summary>
    public void Answered(TimeSpan sentAt, TimeSpan now, double score)
    {
        if (_lastAnsweredSentAt is not { } last || sentAt > last)
            _lastAnsweredSentAt = sentAt;
        if (_answeredRun == 0)
            _answeredRunStart = now;
        _answeredRun++;
        if (State == PathState.Down)
        {
            if (_answeredRun >= _options.RecoverReplies && now - _answeredRunStart >= _options.RecoverHoldDown)
            {
                _lowScoreRun = _highScoreRun = 0;
                Move(score < _options.DegradedBelowScore ? PathState.Degraded : PathState.Up, now);
            }
            return;
        }
        Scored(score, now);
    }

    /// <summary>A probe was given up on at <paramref name="now"/>; the path now scores <paramref name="score"/>.</summary>
    public void Lost(TimeSpan now, double score)
    {
        _answeredRun = 0;
        if (State != PathState.Down)
            Scored(score, now);
    }

    /// <summary>
    /// Takes the path Down when it has been silent for the detection time and at least <c>DetectMultiplier − 1</c>
    /// probes sent since the last answered one are unanswered (with the probe about to go out, that makes the
    /// multiplier's worth): time alone proves nothing when no probes went out, as after this process was stalled.
    /// Call on every probe tick, before sending that tick's probe.
    /// </summary>
    public void Evaluate(TimeSpan now, double? latencyMs, long unansweredSinceLastAnswer)
    {
        if (State == PathState.Down)
            return;
        var silentSince = _lastAnsweredSentAt ?? _createdAt;
        if (now - silentSince >= DetectTimeFor(latencyMs) && unansweredSinceLastAnswer >= _options.DetectMultiplier - 1)
        {
            _answeredRun = 0;
            Move(PathState.Down, now);
        }
    }

    private void Scored(double score, TimeSpan now)
    {
        if (State == PathState.Up)
        {
            _lowScoreRun = score < _options.DegradedBelowScore ? _lowScoreRun + 1 : 0;
            if (_lowScoreRun >= _options.DegradedSamples)
            {
                _highScoreRun = 0;
                Move(PathState.Degraded, now);
            }
        }
        else if (State == PathState.Degraded)
        {
            _highScoreRun = score >= _options.RecoveredAtScore ? _highScoreRun + 1 : 0;
            if (_highScoreRun >= _options.RecoveredSamples)
            {
                _lowScoreRun = 0;
                Move(PathState.Up, now);
            }
        }
    }

    private void Move(PathState state, TimeSpan now)
    {
        State = state;
        StateSince = now;
    }
}
