using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class PathChooserTests
{
    internal static PathCandidate P(string id, double latency, PathState state = PathState.Up, double loss = 0, double jitter = 1, double? spare = null, double? capacity = null) =>
        new(id, state, new PathQuality(latency, jitter, loss, 100), PathScore.Of(latency, jitter, loss), capacity, spare);

    private static TimeSpan Round(int n) => TimeSpan.FromMilliseconds(50 * n);

    private static PathChooser LatencySensitive(PathChooserOptions? options = null) =>
        new(QosClass.LatencySensitive.Sla, QosClass.LatencySensitive.Preference, options);

    [Fact]
    public void LatencySensitive_GetsTheLowestLatencyPathMeetingItsSla()
    {
        var chooser = LatencySensitive();
        var decision = chooser.Decide([P("slow", 80), P("fast", 10), P("lossy", 5, loss: 0.2)], Round(0));
        Assert.Equal(("fast", PathChangeKind.Initial), (decision.PathId, decision.Change));
    }

    [Fact]
    public void Bulk_GetsTheMostSpareCapacity_BestEffortTheHighestScore()
    {
        var paths = new[] { P("fast", 10, spare: 5), P("slow", 80, spare: 40), P("mid", 30, spare: 20) };
        Assert.Equal("slow", new PathChooser(QosClass.Bulk.Sla, QosClass.Bulk.Preference).Decide(paths, Round(0)).PathId);
        Assert.Equal("fast", new PathChooser(QosClass.BestEffort.Sla, QosClass.BestEffort.Preference).Decide(paths, Round(0)).PathId);
    }

    [Fact]
    public void MinimumBandwidth_RulesOutPathsTooSmall()
    {
        var sla = QosClass.LatencySensitive.Sla with { MinBandwidthMbps = 50 };
        var chooser = new PathChooser(sla, PathPreference.LowestLatency);
        Assert.Equal("slow", chooser.Decide([P("fast", 10, capacity: 20), P("slow", 80, capacity: 100)], Round(0)).PathId);
    }

    [Fact]
    public void CurrentPathDown_FailsOverOnTheFirstDecisionThatSeesIt()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("fast", 10), P("slow", 80)], Round(0));
        var decision = chooser.Decide([P("fast", 10, PathState.Down), P("slow", 80)], Round(1));
        Assert.Equal(("slow", "fast", PathChangeKind.Failover), (decision.PathId, decision.PreviousPathId, decision.Change));
        Assert.Contains("path fast is down", decision.Reason);
    }

    [Fact]
    public void CurrentPathGone_FailsOver()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("fast", 10), P("slow", 80)], Round(0));
        Assert.Equal(("slow", PathChangeKind.Failover), (chooser.Decide([P("slow", 80)], Round(1)) is var d ? (d.PathId, d.Change) : default));
    }

    [Fact]
    public void CurrentPathBreakingItsSla_LeftWhenTheBreakIsConfirmed()
    {
        var chooser = LatencySensitive();
        for (var i = 0; i <= 40; i++)
            chooser.Decide([P("fast", 10), P("slow", 140)], Round(i));
        // One sample outside the SLA is noise; the second in a row confirms it, and that decision moves to slow,
        // which has met the SLA for the hold-down time.
        Assert.False(chooser.Decide([P("fast", 160), P("slow", 140)], Round(41)).Switched);
        var decision = chooser.Decide([P("fast", 160), P("slow", 140)], Round(42));
        Assert.Equal(("slow", PathChangeKind.Failover), (decision.PathId, decision.Change));
        Assert.Contains("breaks the SLA", decision.Reason);
    }

    [Fact]
    public void CurrentPathBreakingItsSla_StaysUntilAnotherHasMetItForTheHoldDown()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("fast", 10), P("slow", 200)], Round(0));
        for (var i = 1; i < 7; i++)
            chooser.Decide([P("fast", 200), P("slow", 80)], Round(i));
        Assert.False(chooser.MeetsSla("fast"));
        Assert.True(chooser.MeetsSla("slow")); // since round 5, the fifth sample inside the margin
        for (var i = 7; i < 45; i++)
            Assert.Equal("fast", chooser.Decide([P("fast", 200), P("slow", 80)], Round(i)).PathId);
        Assert.Equal(("slow", PathChangeKind.Failover), chooser.Decide([P("fast", 200), P("slow", 80)], Round(45)) is var d ? (d.PathId, d.Change) : default);
    }

    [Fact]
    public void CurrentPathBreakingItsSla_StaysWhenNoOtherPathMeetsIt()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("fast", 10), P("slow", 180)], Round(0));
        for (var i = 1; i < 20; i++)
            Assert.Equal("fast", chooser.Decide([P("fast", 200), P("slow", 180)], Round(i)).PathId);
    }

    [Fact]
    public void PodMaxLatency_AboveWhichFastIsLeft_AndMovedBackAfterTheHoldDown()
    {
        // The lab's proof: a latency-sensitive pod with max-latency-ms 30; fast's delay raised above it, then restored.
        var request = QosAnnotations.Parse(new Dictionary<string, string> { ["patronus.io/qos-class"] = "latency-sensitive", ["patronus.io/max-latency-ms"] = "30" }, QosClass.BestEffort);
        var chooser = new PathChooser(request.Sla, request.Class.Preference);
        var round = 0;
        for (; round <= 40; round++)
            Assert.Equal("fast", chooser.Decide([P("fast", 10), P("slow", 25)], Round(round)).PathId);
        chooser.Decide([P("fast", 40), P("slow", 25)], Round(round++));
        Assert.Equal("slow", chooser.Decide([P("fast", 40), P("slow", 25)], Round(round++)).PathId);

        // Restored: fast meets the SLA again after five samples inside the margin, then must keep meeting it for
        // the hold-down (2 s = 40 rounds) before traffic moves back.
        var restoredAt = round;
        string? movedBackAt = null;
        for (; round < restoredAt + 100 && movedBackAt is null; round++)
        {
            var decision = chooser.Decide([P("fast", 10), P("slow", 25)], Round(round));
            if (decision.PathId == "fast")
            {
                Assert.Equal(PathChangeKind.Preempted, decision.Change);
                movedBackAt = $"{round - restoredAt}";
            }
        }
        Assert.Equal($"{4 + 40}", movedBackAt); // meeting again on the 5th round after the restore, held 40 rounds later
    }

    [Fact]
    public void SlightlyBetterPath_NeverPreempts()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("b", 100)], Round(0));
        for (var i = 1; i < 400; i++)
            Assert.Equal("b", chooser.Decide([P("a", 90), P("b", 100)], Round(i)).PathId);
    }

    [Fact]
    public void AfterAFailover_TrafficReturnsToThePathItLeft_OnceItMetTheSlaForTheHoldDown_EvenWhenOnlySlightlyBetter()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("a", 90), P("b", 100)], Round(0));
        Assert.Equal(("b", PathChangeKind.Failover), Decided(chooser.Decide([P("a", 90, PathState.Down), P("b", 100)], Round(1))));
        var returned = -1;
        for (var i = 2; i < 400 && returned < 0; i++)
        {
            var decision = chooser.Decide([P("a", 90), P("b", 100)], Round(i));
            if (decision.PathId == "a")
            {
                Assert.Equal(PathChangeKind.Preempted, decision.Change);
                Assert.True(chooser.MeetsSlaFor("a", Round(i)) >= new PathChooserOptions().HoldDown, "returned before the hold-down");
                returned = i;
            }
        }
        Assert.True(returned > 0, "traffic never returned to the path it left");
        // Once: from then on the usual preemption rules hold, and "b" is not clearly better.
        for (var i = returned + 1; i < 400; i++)
            Assert.Equal("a", chooser.Decide([P("a", 90), P("b", 100)], Round(i)).PathId);
    }

    [Fact]
    public void AfterAFailover_AWorsePathLeftBehindIsNotReturnedTo()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("a", 50)], Round(0));
        chooser.Decide([P("a", 50, PathState.Down), P("b", 20)], Round(1));
        for (var i = 2; i < 400; i++)
            Assert.Equal("b", chooser.Decide([P("a", 50), P("b", 20)], Round(i)).PathId);
    }

    private static (string?, PathChangeKind) Decided(PathDecision decision) => (decision.PathId, decision.Change);

    [Fact]
    public void DegradedCurrentPath_LeftForAnUpPathMeetingTheSlaForTheHoldDown()
    {
        var chooser = new PathChooser(QosClass.Bulk.Sla, QosClass.Bulk.Preference);
        Assert.Equal("a", chooser.Decide([P("a", 50, spare: 50), P("b", 60, spare: 10)], Round(0)).PathId);
        for (var i = 1; i < 40; i++)
            Assert.Equal("a", chooser.Decide([P("a", 50, PathState.Degraded, spare: 50), P("b", 60, spare: 10)], Round(i)).PathId);
        var decision = chooser.Decide([P("a", 50, PathState.Degraded, spare: 50), P("b", 60, spare: 10)], Round(40));
        Assert.Equal(("b", PathChangeKind.Preempted), (decision.PathId, decision.Change));
    }

    [Fact]
    public void AllPathsDown_KeepsTheCurrentOne_AndNoneIsChosenFirst()
    {
        var chooser = LatencySensitive();
        Assert.Null(chooser.Decide([P("a", 10, PathState.Down), P("b", 20, PathState.Down)], Round(0)).PathId);
        chooser.Decide([P("a", 10), P("b", 20)], Round(1));
        var decision = chooser.Decide([P("a", 10, PathState.Down), P("b", 20, PathState.Down)], Round(2));
        Assert.Equal(("a", false), (decision.PathId, decision.Switched));
    }

    [Fact]
    public void CurrentDown_NoOtherMeetsTheSla_TakesTheBestLivingPathAnyway()
    {
        var chooser = LatencySensitive();
        chooser.Decide([P("a", 10), P("b", 300)], Round(0));
        Assert.Equal("b", chooser.Decide([P("a", 10, PathState.Down), P("b", 300)], Round(1)).PathId);
    }

    [Fact]
    public void TiesAreBrokenByPathId_NotByListOrder()
    {
        var one = LatencySensitive().Decide([P("x", 10), P("y", 10)], Round(0)).PathId;
        var other = LatencySensitive().Decide([P("y", 10), P("x", 10)], Round(0)).PathId;
        Assert.Equal(("x", "x"), (one, other));
    }

    [Theory]
    [InlineData(nameof(PathChooserOptions.BreakSamples))]
    [InlineData(nameof(PathChooserOptions.RecoverMargin))]
    [InlineData(nameof(PathChooserOptions.HoldDown))]
    public void BadOptions_RefusedNamingTheOption(string field)
    {
        var options = field switch
        {
            nameof(PathChooserOptions.BreakSamples) => new PathChooserOptions { BreakSamples = 0 },
            nameof(PathChooserOptions.RecoverMargin) => new PathChooserOptions { RecoverMargin = 1 },
            _ => new PathChooserOptions { HoldDown = TimeSpan.FromSeconds(-1) },
        };
        Assert.Equal(field, Assert.ThrowsAny<ArgumentException>(() => LatencySensitive(options)).ParamName);
    }
}
