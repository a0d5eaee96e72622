using System.Net;
using Patronus.Agent.Paths;
using Patronus.Agent.Paths.Steering;

namespace Patronus.Agent.Tests.Paths.Steering;

public sealed class PathSelectionTests
{
    private static readonly IPNetwork[] WestRanges = [IPNetwork.Parse("10.62.0.0/16")];

    private static PathCandidate Path(string id, double latency, PathState state = PathState.Up, double loss = 0, double? spare = null) =>
        new(id, state, new PathQuality(latency, 1, loss, 20), PathScore.Of(latency, 1, loss), spare, spare);

    private static SteeredPod Pod(string name, string ip, params (string Key, string Value)[] annotations) =>
        new("default", name, [IPAddress.Parse(ip)], QosAnnotations.Parse(annotations.ToDictionary(a => a.Key, a => a.Value), QosClass.BestEffort));

    private static TimeSpan Round(int i) => TimeSpan.FromMilliseconds(50 * i);

    private static MemberPaths West(params PathCandidate[] paths) => new("west", WestRanges, paths);

    [Fact]
    public void EveryClassGetsAChoice_AndPodsOfTheDefaultClassFollowTheDefault_WithNoEntryOfTheirOwn()
    {
        var selection = new PathSelection(QosClass.BestEffort);
        var round = selection.Decide([West(Path("fast", 10), Path("slow", 80))], [Pod("plain", "10.60.1.2")], Round(0));

        Assert.Equal(["best-effort", "bulk", "latency-sensitive"], round.Choices.Select(c => c.QosClass).Order());
        var steering = Assert.Single(round.Steering);
        Assert.Equal("fast", steering.DefaultPathId);
        Assert.Empty(steering.PodPaths);
        Assert.True(round.Changed);
        Assert.False(selection.Decide([West(Path("fast", 10), Path("slow", 80))], [Pod("plain", "10.60.1.2")], Round(1)).Changed);
    }

    [Fact]
    public void APodWithItsOwnMaxLatency_GetsAChooserOfItsOwn_AndAnEntryWhenItsPathDiffers()
    {
        var selection = new PathSelection(QosClass.Bulk);
        // bulk prefers the most spare capacity: fast; the pod may have 50 ms, which fast (60 ms) breaks.
        var pods = new[] { Pod("backup", "10.60.1.5", ("patronus.io/qos-class", "bulk"), ("patronus.io/max-latency-ms", "50")) };
        var round = selection.Decide([West(Path("fast", 60, spare: 500), Path("slow", 30, spare: 5))], pods, Round(0));

        Assert.Equal("fast", round.Steering[0].DefaultPathId);
        var own = Assert.Single(round.Choices, c => c.Key == "bulk max-latency-ms=50");
        Assert.Equal("slow", own.PathId);
        Assert.Equal("slow", round.Steering[0].PodPaths[IPAddress.Parse("10.60.1.5")]);
    }

    [Fact]
    public void PodsAskingTheSame_ShareOneChooser()
    {
        var selection = new PathSelection(QosClass.BestEffort);
        var pods = new[]
        {
            Pod("a", "10.60.1.5", ("patronus.io/max-latency-ms", "50")),
            Pod("b", "10.60.1.6", ("patronus.io/max-latency-ms", "50")),
            Pod("c", "10.60.1.7", ("patronus.io/min-bandwidth-mbps", "10")),
        };
        var round = selection.Decide([West(Path("fast", 10))], pods, Round(0));

        Assert.Equal(["best-effort", "best-effort max-latency-ms=50", "best-effort min-bandwidth-mbps=10", "bulk", "latency-sensitive"],
            round.Choices.Select(c => c.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void APathGoingDown_FailsEveryClassOnItOver_OnTheSameRound_AndSaysFromWhere()
    {
        var selection = new PathSelection(QosClass.BestEffort);
        selection.Decide([West(Path("fast", 10), Path("slow", 80))], [], Round(0));

        var round = selection.Decide([West(Path("fast", 10, PathState.Down), Path("slow", 80))], [], Round(1));

        Assert.Equal("slow", round.Steering[0].DefaultPathId);
        Assert.True(round.Changed);
        Assert.All(round.Failovers, f => Assert.Equal(("west", "fast", "slow"), (f.MemberId, f.FromPathId, f.ToPathId)));
        Assert.Equal(["best-effort", "bulk", "latency-sensitive"], round.Failovers.Select(f => f.QosClass).Order());
        Assert.All(round.Choices, c => Assert.Equal(PathChangeKind.Failover, c.Change));
    }

    [Fact]
    public void APodsOwnChooser_LeavingThePathWithItsClass_IsOneFailover_ButLeavingAloneIsCounted()
    {
        var selection = new PathSelection(QosClass.BestEffort);
        var pods = new[] { Pod("strict", "10.60.1.5", ("patronus.io/max-latency-ms", "50")) };
        selection.Decide([West(Path("fast", 10), Path("slow", 80))], pods, Round(0));

        // fast goes down: best-effort's own chooser and the pod's both leave it.
        var down = selection.Decide([West(Path("fast", 10, PathState.Down), Path("slow", 80))], pods, Round(1));
        Assert.Equal(2, down.Choices.Count(c => c.QosClass == "best-effort" && c.Change == PathChangeKind.Failover));
        Assert.Single(down.Failovers, f => f.QosClass == "best-effort");

        // Back on fast, then fast slows to 60 ms: the pod's 50 ms breaks and it leaves alone; its class stays.
        var healthy = West(Path("fast", 10), Path("slow", 40));
        for (var i = 2; i < 100 && selection.Decide([healthy], pods, Round(i)).Steering[0].DefaultPathId != "fast"; i++)
        {
        }
        Assert.Equal("fast", selection.Decide([healthy], pods, Round(100)).Steering[0].DefaultPathId);
        var slowed = Enumerable.Range(101, 20).SelectMany(i => selection.Decide([West(Path("fast", 60), Path("slow", 40))], pods, Round(i)).Failovers).ToList();
        var alone = Assert.Single(slowed);
        Assert.Equal(("best-effort", "fast", "slow"), (alone.QosClass, alone.FromPathId, alone.ToPathId));
    }

    [Fact]
    public void TheDefaultClass_IsConfigurable()
    {
        // bulk by default: the most spare capacity (slow) rather than the highest score (fast).
        var selection = new PathSelection(QosClass.Bulk);
        var round = selection.Decide([West(Path("fast", 10, spare: 5), Path("slow", 80, spare: 500))], [Pod("plain", "10.60.1.2")], Round(0));

        Assert.Equal("slow", round.Steering[0].DefaultPathId);
    }

    [Fact]
    public void APodThatLeaves_TakesItsChooserAndEntryWithIt()
    {
        var selection = new PathSelection(QosClass.Bulk);
        var backup = Pod("backup", "10.60.1.5", ("patronus.io/qos-class", "bulk"), ("patronus.io/max-latency-ms", "50"));
        var first = selection.Decide([West(Path("fast", 60, spare: 500), Path("slow", 30, spare: 5))], [backup], Round(0));
        Assert.Single(first.Steering[0].PodPaths);

        var after = selection.Decide([West(Path("fast", 60, spare: 500), Path("slow", 30, spare: 5))], [], Round(1));

        Assert.Empty(after.Steering[0].PodPaths);
        Assert.DoesNotContain(after.Choices, c => c.Key.Contains("max-latency", StringComparison.Ordinal));
        Assert.True(after.Changed);
    }

    [Fact]
    public void MembersAreSteeredApart()
    {
        var selection = new PathSelection(QosClass.BestEffort);
        var round = selection.Decide(
            [West(Path("fast", 10), Path("slow", 80)), new MemberPaths("south", [IPNetwork.Parse("10.70.0.0/16")], [Path("fast", 10, PathState.Down), Path("slow", 80)])],
            [], Round(0));
        // Each member has its own choosers: south's fast is down, west's is not.

        Assert.Equal([("south", "slow"), ("west", "fast")], round.Steering.Select(s => (s.MemberId, s.DefaultPathId)));
    }

    [Fact]
    public void NoPathUp_LeavesTheDefaultUnchosen_AndNoPodEntry()
    {
        var selection = new PathSelection(QosClass.BestEffort);
        var round = selection.Decide([West(Path("fast", 10, PathState.Down))], [Pod("voice", "10.60.1.5", ("patronus.io/max-latency-ms", "50"))], Round(0));

        Assert.Null(round.Steering[0].DefaultPathId);
        Assert.Empty(round.Steering[0].PodPaths);
    }
}

public sealed class PathSelectionSettlingTests
{
    private static PathCandidate Path(string id, double latency, PathState state = PathState.Up) =>
        new(id, state, new PathQuality(latency, 1, 0, 20), PathScore.Of(latency, 1, 0));

    private static readonly IPNetwork[] Ranges = [IPNetwork.Parse("10.62.0.0/16")];

    [Fact]
    public void NothingIsChosen_UntilEveryPathIsUp_SoTheFirstToAnswerDoesNotKeepTheTraffic()
    {
        var selection = new PathSelection(QosClass.BestEffort, settle: TimeSpan.FromSeconds(3));
        // slow answers first; fast a moment later. best-effort must end on fast (the higher score), not on slow.
        var early = selection.Decide([new MemberPaths("west", Ranges, [Path("fast", 10, PathState.Down), Path("slow", 80)])], [], TimeSpan.FromMilliseconds(1000));
        Assert.Null(early.Steering[0].DefaultPathId);
        Assert.Empty(early.Choices);
        var settled = selection.Decide([new MemberPaths("west", Ranges, [Path("fast", 10), Path("slow", 80)])], [], TimeSpan.FromMilliseconds(1100));
        Assert.Equal("fast", settled.Steering[0].DefaultPathId);
    }

    [Fact]
    public void APathThatNeverComesUp_DelaysTheChoiceOnlyForTheSettlingTime()
    {
        var selection = new PathSelection(QosClass.BestEffort, settle: TimeSpan.FromSeconds(3));
        MemberPaths West() => new("west", Ranges, [Path("fast", 10, PathState.Down), Path("slow", 80)]);
        Assert.Null(selection.Decide([West()], [], TimeSpan.FromSeconds(0)).Steering[0].DefaultPathId);
        Assert.Null(selection.Decide([West()], [], TimeSpan.FromSeconds(2.9)).Steering[0].DefaultPathId);
        Assert.Equal("slow", selection.Decide([West()], [], TimeSpan.FromSeconds(3)).Steering[0].DefaultPathId);
    }

    [Fact]
    public void OnceChosen_APathGoingDownIsAFailover_NotASettling()
    {
        var selection = new PathSelection(QosClass.BestEffort, settle: TimeSpan.FromSeconds(3));
        selection.Decide([new MemberPaths("west", Ranges, [Path("fast", 10), Path("slow", 80)])], [], TimeSpan.Zero);
        var round = selection.Decide([new MemberPaths("west", Ranges, [Path("fast", 10, PathState.Down), Path("slow", 80)])], [], TimeSpan.FromMilliseconds(50));
        Assert.Equal("slow", round.Steering[0].DefaultPathId);
        Assert.NotEmpty(round.Failovers);
    }
}
