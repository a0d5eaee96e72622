namespace Patronus.Agent.Paths;

/// <summary>One path as the chooser sees it at a decision.</summary>
/// <param name="CapacityMbps">The path's configured capacity, when known (checked against the SLA's minimum bandwidth).</param>
/// <param name="SpareMbps">Capacity not in use now, when known (what bulk traffic prefers).</param>
public sealed record PathCandidate(string PathId, PathState State, PathQuality Quality, double Score, double? CapacityMbps = null, double? SpareMbps = null)
{
    public static PathCandidate From(string pathId, PathStatus status, double? capacityMbps = null, double? spareMbps = null) =>
        new(pathId, status.State, status.Quality, status.Score, capacityMbps, spareMbps);
}

/// <summary>A decision: the path to use, whether it changed, and why (for logs and the CLI).</summary>
public sealed record PathDecision(string? PathId, string? PreviousPathId, PathChangeKind Change, string Reason)
{
    public bool Switched => Change != PathChangeKind.None;
}

public enum PathChangeKind
{
    None,

    /// <summary>The first path chosen (there was none).</summary>
    Initial,

    /// <summary>The current path went Down, disappeared, or broke the SLA: a failover.</summary>
    Failover,

    /// <summary>The current path still met the SLA, but a better one has met it for the hold-down time.</summary>
    Preempted,
}

/// <summary>The chooser's hysteresis.</summary>
public sealed record PathChooserOptions
{
    /// <summary>
    /// How long a path must meet the SLA before traffic moves to it from a path that still meets the SLA (moving
    /// back after a failover, or to a better path), and how long traffic stays on a path after any move before such
    /// a move. Failovers never wait.
    /// </summary>
    public TimeSpan HoldDown { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive decisions a path must break the SLA at before it counts as breaking it.</summary>
    public int BreakSamples { get; init; } = 2;

    /// <summary>Consecutive decisions a path must meet the SLA with <see cref="RecoverMargin"/> before it counts as meeting it again.</summary>
    public int RecoverSamples { get; init; } = 5;

    /// <summary>How far inside each SLA bound a path must be to count as meeting it again (0.1 = 10%).</summary>
    public double RecoverMargin { get; init; } = 0.1;

    /// <summary>How much better (relative) a path must be for a preemption: 20% lower latency, 20% more spare capacity, a score 20% higher.</summary>
    public double PreemptMargin { get; init; } = 0.2;

    /// <summary>And at least this much lower latency, so two fast paths' noise never preempts.</summary>
    public double PreemptMinLatencyGainMs { get; init; } = 2;

    public void Validate()
    {
        if (HoldDown < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(HoldDown), HoldDown, "must not be negative");
        if (BreakSamples < 1 || RecoverSamples < 1)
            throw new ArgumentOutOfRangeException(BreakSamples < 1 ? nameof(BreakSamples) : nameof(RecoverSamples), "must be at least 1");
        if (RecoverMargin is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(RecoverMargin), RecoverMargin, "must be from 0 to below 1");
        if (PreemptMargin is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(PreemptMargin), PreemptMargin, "must be from 0 to below 1");
    }
}

/// <summary>
/// Chooses the path for one kind of traffic (a pod or a QoS class towards one destination site) and keeps to it.
/// Call <see cref="Decide"/> once per probe round with every path. The rules, in order:
/// <list type="number">
/// <item>Each path's SLA standing has hysteresis: it breaks the SLA after <see cref="PathChooserOptions.BreakSamples"/>
/// decisions in a row outside a bound, and meets it again after <see cref="PathChooserOptions.RecoverSamples"/> in a
/// row inside every bound by <see cref="PathChooserOptions.RecoverMargin"/>. A Down path never meets it.</item>
/// <item>Sticky: while the current path is not Down and meets the SLA, traffic stays, unless another path is Up, has
/// met the SLA for the hold-down time, the current one has been in use for the hold-down time, and it is better by
/// the preempt margin in the class's preference (or the current one is Degraded).</item>
/// <item>Failover, on the decision that first sees it: when the current path is Down or gone, to the best path that
/// meets the SLA, else the best one not Down; when it breaks the SLA, to the best path that has met the SLA for the
/// hold-down time (none: stay, since the current path still carries traffic and moving to a path that only just
/// came good, or that fails too, is how two borderline paths make traffic flap).</item>
/// <item>Return: after a failover, traffic goes back to the path it left once that path is Up, has met the SLA for
/// the hold-down time and ranks before the current one, without the preempt margin (and, like any move that is not a
/// failover, no sooner than the hold-down after the last move).</item>
/// <item>"Best" ranks Up before Degraded, then paths past their hold-down first, then the class's preference.
/// A Down path is chosen only when every path is Down (the current one is then kept).</item>
/// </list>
/// Pure: time is passed in; not thread-safe.
/// </summary>
public sealed class PathChooser
{
    private readonly PathChooserOptions _options;
    private readonly Dictionary<string, SlaStanding> _standings = new(StringComparer.Ordinal);
    private TimeSpan _currentSince;
    private string? _returnTo;

    public PathChooser(QosSla sla, PathPreference preference, PathChooserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sla);
        _options = options ?? new PathChooserOptions();
        _options.Validate();
        Sla = sla;
        Preference = preference;
    }

    public QosSla Sla { get; }

    public PathPreference Preference { get; }

    public string? Current { get; private set; }

    /// <summary>Whether the path meets the SLA as of the last decision (with its hysteresis).</summary>
    public bool MeetsSla(string pathId) => _standings.TryGetValue(pathId, out var standing) && standing.Meeting;

    /// <summary>How long the path has met the SLA without a break as of <paramref name="now"/>; zero when it does not.</summary>
    public TimeSpan MeetsSlaFor(string pathId, TimeSpan now) =>
        _standings.TryGetValue(pathId, out var standing) && standing.Meeting ? now - standing.MeetingSince : TimeSpan.Zero;

    public PathDecision Decide(IReadOnlyList<PathCandidate> paths, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(paths);
        UpdateStandings(paths, now);
        var current = Current is null ? null : paths.FirstOrDefault(p => p.PathId == Current);
        if (Current is null)
        {
            var first = Best(paths, now, meetingOnly: true) ?? Best(paths, now, meetingOnly: false);
            return first is null ? Stay("no path is up") : Move(first, PathChangeKind.Initial, now, Describe(first, "first path"));
        }
        if (current is null || current.State == PathState.Down)
        {
            var gone = current is null ? $"path {Current} is gone" : $"path {Current} is down";
            var target = Best(paths, now, meetingOnly: true) ?? Best(paths, now, meetingOnly: false);
            return target is null ? Stay($"{gone}, and no other path is up") : Move(target, PathChangeKind.Failover, now, $"{gone}: {Describe(target, "failover")}");
        }
        if (!_standings[current.PathId].Meeting)
        {
            // Only to a path that has met the SLA for the hold-down: a path that only just came good may be the
            // one that flaps, and the current one, though out of its SLA, still carries traffic.
            var target = Best(paths.Where(p => IsHeld(p, now)).ToList(), now, meetingOnly: true);
            return target is null
                ? Stay($"path {Current} breaks the SLA, and no other path has met it for the hold-down time")
                : Move(target, PathChangeKind.Failover, now, $"path {Current} breaks the SLA: {Describe(target, "failover")}");
        }
        if (_returnTo is { } back && back != current.PathId)
        {
            // After a failover traffic goes back to the path it left once that path has met the SLA for the hold-down
            // time and ranks before the current one at all: the preempt margin is for moving to a path traffic never
            // chose, not for undoing a move the failure forced (two good paths of near scores would otherwise keep
            // traffic on the fallback for good).
            var returning = paths.FirstOrDefault(p => p.PathId == back);
            if (returning is null)
            {
                _returnTo = null;
            }
            else if (returning.State == PathState.Up && IsHeld(returning, now) && now - _currentSince >= _options.HoldDown && Compare(returning, current, now) < 0)
            {
                _returnTo = null;
                return Move(returning, PathChangeKind.Preempted, now, $"{Describe(returning, "back to")}, meeting the SLA for the hold-down time since the failover");
            }
        }
        if (now - _currentSince >= _options.HoldDown)
        {
            var better = Best(paths.Where(p => p.PathId != current.PathId && p.State == PathState.Up && IsHeld(p, now)).ToList(), now, meetingOnly: true);
            if (better is not null && IsClearlyBetter(better, current))
                return Move(better, PathChangeKind.Preempted, now, $"{Describe(better, "better path")}, meeting the SLA for the hold-down time");
        }
        return Stay($"path {Current} meets the SLA");
    }

    private PathDecision Stay(string reason) => new(Current, Current, PathChangeKind.None, reason);

    private PathDecision Move(PathCandidate target, PathChangeKind change, TimeSpan now, string reason)
    {
        var previous = Current;
        if (target.PathId == previous)
            return Stay(reason);
        Current = target.PathId;
        _currentSince = now;
        if (change == PathChangeKind.Failover)
            _returnTo ??= previous;
        else if (change == PathChangeKind.Preempted)
            _returnTo = null;
        return new PathDecision(target.PathId, previous, change, reason);
    }

    private static string Describe(PathCandidate path, string why) =>
        $"{why} {path.PathId} ({path.State}, latency {path.Quality.LatencyMs?.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) ?? "?"} ms, score {path.Score:0})";

    private void UpdateStandings(IReadOnlyList<PathCandidate> paths, TimeSpan now)
    {
        foreach (var gone in _standings.Keys.Where(id => !paths.Any(p => p.PathId == id)).ToList())
            _standings.Remove(gone);
        foreach (var path in paths)
        {
            if (!_standings.TryGetValue(path.PathId, out var standing))
            {
                // A path seen for the first time is judged on its first sample, without the recovery margin: at
                // start there is nothing to flap from, and the hold-down still keeps traffic from moving to it.
                standing = new SlaStanding { Meeting = Sla.IsMetBy(path), MeetingSince = now };
                _standings[path.PathId] = standing;
                continue;
            }
            if (standing.Meeting)
            {
                standing.RecoverRun = 0;
                standing.BreakRun = Sla.IsMetBy(path) ? 0 : standing.BreakRun + 1;
                if (path.State == PathState.Down || standing.BreakRun >= _options.BreakSamples)
                    standing.Meeting = false;
            }
            else
            {
                standing.BreakRun = 0;
                standing.RecoverRun = Sla.IsMetBy(path, _options.RecoverMargin) ? standing.RecoverRun + 1 : 0;
                if (standing.RecoverRun >= _options.RecoverSamples)
                {
                    standing.Meeting = true;
                    standing.MeetingSince = now;
                }
            }
        }
    }

    private bool IsHeld(PathCandidate path, TimeSpan now) =>
        _standings.TryGetValue(path.PathId, out var standing) && standing.Meeting && now - standing.MeetingSince >= _options.HoldDown;

    private PathCandidate? Best(IReadOnlyList<PathCandidate> paths, TimeSpan now, bool meetingOnly)
    {
        PathCandidate? best = null;
        foreach (var path in paths)
        {
            if (path.State == PathState.Down || (meetingOnly && !_standings[path.PathId].Meeting))
                continue;
            if (best is null || Compare(path, best, now) < 0)
                best = path;
        }
        return best;
    }

    /// <summary>Negative when <paramref name="a"/> ranks before <paramref name="b"/>.</summary>
    private int Compare(PathCandidate a, PathCandidate b, TimeSpan now)
    {
        if (a.State != b.State)
            return b.State.CompareTo(a.State);
        var (heldA, heldB) = (IsHeld(a, now), IsHeld(b, now));
        if (heldA != heldB)
            return heldA ? -1 : 1;
        var byPreference = Preference switch
        {
            PathPreference.LowestLatency => (a.Quality.LatencyMs ?? double.MaxValue).CompareTo(b.Quality.LatencyMs ?? double.MaxValue),
            PathPreference.MostSpareCapacity => (b.SpareMbps ?? -1).CompareTo(a.SpareMbps ?? -1),
            _ => 0,
        };
        if (byPreference != 0)
            return byPreference;
        var byScore = b.Score.CompareTo(a.Score);
        // Equal on everything: the path id decides, so the choice does not depend on the order paths are listed in.
        return byScore != 0 ? byScore : string.CompareOrdinal(a.PathId, b.PathId);
    }

    private bool IsClearlyBetter(PathCandidate candidate, PathCandidate current)
    {
        if (current.State == PathState.Degraded)
            return true;
        var keep = 1 - _options.PreemptMargin;
        return Preference switch
        {
            PathPreference.LowestLatency => candidate.Quality.LatencyMs is { } better && current.Quality.LatencyMs is { } now
                && better <= now * keep && now - better >= _options.PreemptMinLatencyGainMs,
            PathPreference.MostSpareCapacity when candidate.SpareMbps is { } spare && current.SpareMbps is { } currentSpare =>
                spare * keep >= currentSpare && spare > currentSpare,
            _ => candidate.Score * keep >= current.Score && candidate.Score > current.Score,
        };
    }

    private sealed class SlaStanding
    {
        public bool Meeting;
        public TimeSpan MeetingSince;
        public int BreakRun;
        public int RecoverRun;
    }
}
