using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class MemberReachabilityTests
{
    private static TimeSpan Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds);

    private static readonly PathQuality Quality = new(10, 0, 0, 10);

    private static PathStatus Status(PathState state, double since, double? replied) =>
        new(state, Ms(since), Quality, 1, replied is { } r ? Ms(r) : null);

    private static PathStatus Lost => Status(PathState.Down, since: 1000, replied: 850);

    private static PathStatus NeverAnswered => Status(PathState.Down, since: 0, replied: null);

    private static PathStatus Recovering => Status(PathState.Down, since: 1000, replied: 1400);

    private static PathStatus Up => Status(PathState.Up, since: 500, replied: 1400);

    private static PathStatus Degraded => Status(PathState.Degraded, since: 500, replied: 1400);

    public static TheoryData<string, PathStatus[], bool> Cases() => new()
    {
        { "one path, lost", [Lost], true },
        { "every path lost", [Lost, Lost], true },
        { "lost and never answered", [Lost, NeverAnswered], true },
        { "one still up", [Lost, Up], false },
        { "one degraded (it answers)", [Lost, Degraded], false },
        { "one answering again, in its recovery hold-down", [Lost, Recovering], false },
        { "never answered: nothing known yet", [NeverAnswered], false },
        { "none answered yet", [NeverAnswered, NeverAnswered], false },
        { "up", [Up], false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AMemberIsLost_OnlyWhenEveryPathIsDownAndSilent_AndOneHadAnswered(string why, PathStatus[] paths, bool lost)
    {
        var unreachable = MemberReachability.Unreachable(paths.Select(p => ("gcp", p)));
        Assert.True(lost == unreachable.Contains("gcp"), why);
        Assert.True(unreachable.Count <= 1, why);
    }

    [Fact]
    public void Members_AreJudgedApart()
    {
        var unreachable = MemberReachability.Unreachable([("gcp", Lost), ("gcp", Lost), ("aws", Lost), ("aws", Up), ("onprem", NeverAnswered)]);
        Assert.Equal(["gcp"], unreachable);
        Assert.Empty(MemberReachability.Unreachable([]));
    }

    [Fact]
    public void AMonitoredPath_GoesLostWhenItFallsSilent_AndComesBackAtItsFirstReply()
    {
        var options = new PathHealthOptions();
        var monitor = new PathMonitor(options, TimeSpan.Zero);
        bool Lost() => MemberReachability.Unreachable([("gcp", monitor.Status)]).Contains("gcp");

        Assert.False(Lost());
        var now = TimeSpan.Zero;
        for (; now < Ms(2000); now += options.ProbeInterval)
        {
            var sequence = monitor.ProbeSent(now);
            monitor.Answered(sequence, now, now + Ms(5));
            monitor.Evaluate(now + Ms(5));
        }
        Assert.Equal(PathState.Up, monitor.Status.State);
        Assert.False(Lost());

        // Silence: probes go unanswered until the path is Down.
        var silentFrom = now;
        while (monitor.Status.State != PathState.Down)
        {
            monitor.ProbeSent(now);
            now += options.ProbeInterval;
            monitor.Evaluate(now);
            Assert.True(now - silentFrom < Ms(1000), "the path never went Down");
        }
        Assert.True(Lost());

        // The first answer: the member is reachable while the path still waits out its recovery hold-down.
        var first = monitor.ProbeSent(now);
        monitor.Answered(first, now, now + Ms(5));
        monitor.Evaluate(now + Ms(5));
        Assert.Equal(PathState.Down, monitor.Status.State);
        Assert.False(Lost());
    }
}
