using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class PathHealthTests
{
    private static readonly PathHealthOptions Options = new();

    private static TimeSpan Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds);

    /// <summary>A path made Up by answering every 50 ms for just over the recovery hold-down; returns the time reached.</summary>
    private static (PathHealth Health, TimeSpan Now) UpPath()
    {
        var health = new PathHealth(Options, TimeSpan.Zero);
        var now = TimeSpan.Zero;
        while (health.State == PathState.Down)
        {
            now += Options.ProbeInterval;
            health.Answered(now - Ms(5), now, 99);
            health.Evaluate(now, 5, 0);
        }
        return (health, now);
    }

    [Fact]
    public void NewPath_StartsDown_AndComesUpOnlyAfterTheHoldDownOfAnswers()
    {
        var health = new PathHealth(Options, TimeSpan.Zero);
        Assert.Equal(PathState.Down, health.State);
        for (var t = 50; t < 1050; t += 50)
        {
            health.Answered(Ms(t - 5), Ms(t), 99);
            Assert.Equal(PathState.Down, health.State);
        }
        health.Answered(Ms(1045), Ms(1050), 99);
        Assert.Equal(PathState.Up, health.State);
        Assert.Equal(Ms(1050), health.StateSince);
    }

    [Fact]
    public void RecoveringPath_OneLoss_RestartsTheRun()
    {
        var health = new PathHealth(Options, TimeSpan.Zero);
        for (var t = 50; t <= 900; t += 50)
            health.Answered(Ms(t - 5), Ms(t), 99);
        health.Lost(Ms(950), 99);
        for (var t = 1000; t <= 1900; t += 50)
        {
            health.Answered(Ms(t - 5), Ms(t), 99);
            Assert.Equal(PathState.Down, health.State);
        }
        health.Answered(Ms(1995), Ms(2000), 99);
        Assert.Equal(PathState.Up, health.State);
    }

    [Fact]
    public void UpPath_Silent_IsDownExactlyAtTheDetectTime()
    {
        var (health, now) = UpPath();
        var lastAnsweredSent = now - Ms(5);
        health.Evaluate(lastAnsweredSent + Ms(149.9), 5, 2);
        Assert.Equal(PathState.Up, health.State);
        health.Evaluate(lastAnsweredSent + Ms(150), 5, 1);
        Assert.Equal(PathState.Up, health.State); // only one probe went out since: no evidence yet
        health.Evaluate(lastAnsweredSent + Ms(150), 5, 2);
        Assert.Equal(PathState.Down, health.State);
    }

    [Fact]
    public void SlowPath_GetsALongerDetectTime_SoSlownessIsNotDeath()
    {
        var health = new PathHealth(Options, TimeSpan.Zero);
        Assert.Equal(Ms(150), health.DetectTimeFor(40));
        Assert.Equal(Ms(250), health.DetectTimeFor(100));
    }

    [Fact]
    public void LowScores_DegradeOnlyAfterThreeInARow()
    {
        var (health, now) = UpPath();
        health.Answered(now, now += Ms(50), 60);
        health.Answered(now, now += Ms(50), 60);
        health.Answered(now, now += Ms(50), 90);
        health.Answered(now, now += Ms(50), 60);
        health.Answered(now, now += Ms(50), 60);
        Assert.Equal(PathState.Up, health.State);
        health.Lost(now += Ms(50), 60);
        Assert.Equal(PathState.Degraded, health.State);
    }

    [Fact]
    public void DegradedPath_BackUpOnlyAfterFiveScoresAtTheRecoveryScore()
    {
        var (health, now) = UpPath();
        for (var i = 0; i < 3; i++)
            health.Answered(now, now += Ms(50), 50);
        Assert.Equal(PathState.Degraded, health.State);
        for (var i = 0; i < 50; i++)
            health.Answered(now, now += Ms(50), 79.9); // between the thresholds: nothing moves
        Assert.Equal(PathState.Degraded, health.State);
        for (var i = 0; i < 4; i++)
            health.Answered(now, now += Ms(50), 80);
        Assert.Equal(PathState.Degraded, health.State);
        health.Answered(now, now += Ms(50), 80);
        Assert.Equal(PathState.Up, health.State);
    }

    [Fact]
    public void ScoreJitteringInsideTheHysteresisGap_ChangesStateAtMostOnce()
    {
        // Any score noise that stays below the recovery score can degrade a path once and never bring it back,
        // and noise that stays at or above the degraded score never degrades it: no flapping either way.
        var random = new Random(42);
        for (var run = 0; run < 500; run++)
        {
            var (health, now) = UpPath();
            var low = random.NextDouble() * 80;
            var high = Math.Min(80, low + random.NextDouble() * 30);
            var changes = 0;
            var state = health.State;
            for (var i = 0; i < 400; i++)
            {
                var score = low + random.NextDouble() * (high - low);
                if (random.NextDouble() < 0.05)
                    health.Lost(now += Ms(50), score);
                else
                    health.Answered(now, now += Ms(50), score);
                if (health.State != state)
                {
                    changes++;
                    state = health.State;
                }
            }
            Assert.True(changes <= 1, $"run {run}: scores {low:0.0}..{high:0.0} changed state {changes} times");
        }
    }

    [Theory]
    [InlineData(nameof(PathHealthOptions.ProbeInterval))]
    [InlineData(nameof(PathHealthOptions.DetectMultiplier))]
    [InlineData(nameof(PathHealthOptions.RecoveredAtScore))]
    [InlineData(nameof(PathHealthOptions.LossWindow))]
    public void BadOptions_RefusedNamingTheOption(string field)
    {
        var options = field switch
        {
            nameof(PathHealthOptions.ProbeInterval) => new PathHealthOptions { ProbeInterval = TimeSpan.Zero },
            nameof(PathHealthOptions.DetectMultiplier) => new PathHealthOptions { DetectMultiplier = 1 },
            nameof(PathHealthOptions.RecoveredAtScore) => new PathHealthOptions { RecoveredAtScore = 60 },
            _ => new PathHealthOptions { LossWindow = 0 },
        };
        var error = Assert.ThrowsAny<ArgumentException>(() => new PathHealth(options, TimeSpan.Zero));
        Assert.Equal(field, error.ParamName);
    }
}
