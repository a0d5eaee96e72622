using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class PathScoreTests
{
    [Theory]
    // Values worked out by hand from the formula in ARCHITECTURE.md (and the README's table).
    [InlineData(0, 0, 0, 100.0)]
    [InlineData(5, 1, 0, 99.90)]
    [InlineData(40, 2, 0, 99.33)]
    [InlineData(300, 30, 0, 73.77)]
    [InlineData(5, 1, 0.05, 89.13)]
    [InlineData(10, 0, 0.2, 35.20)]
    public void Score_MatchesTheFormula(double latency, double jitter, double loss, double expected)
    {
        Assert.Equal(expected, PathScore.Of(latency, jitter, loss), 2);
    }

    [Fact]
    public void PerfectPath_IsMos440_AndWorstIsZero()
    {
        Assert.Equal(4.404, PathScore.PerfectMos, 3);
        Assert.Equal(0, PathScore.Of(10_000, 1_000, 1));
        Assert.Equal(0, PathScore.Of(new PathQuality(null, 0, 0, 0)));
    }

    [Fact]
    public void TheTwoLatencyBranches_MeetAtEffectiveLatency160()
    {
        // EffLat = 150 + 0 + 10 = 160: both expressions give R = 89.2.
        Assert.Equal(PathScore.RFactor(149.999999, 0, 0), PathScore.RFactor(150, 0, 0), 5);
    }

    [Fact]
    public void Score_NeverRisesWithWorseLatencyJitterOrLoss_AndStaysIn0To100()
    {
        for (var latency = 0.0; latency <= 2000; latency += 7)
        for (var jitter = 0.0; jitter <= 300; jitter += 11)
        for (var loss = 0.0; loss <= 1; loss += 0.05)
        {
            var score = PathScore.Of(latency, jitter, loss);
            Assert.InRange(score, 0, 100);
            Assert.True(PathScore.Of(latency + 7, jitter, loss) <= score + 1e-9, $"latency {latency}");
            Assert.True(PathScore.Of(latency, jitter + 11, loss) <= score + 1e-9, $"jitter {jitter}");
            Assert.True(PathScore.Of(latency, jitter, Math.Min(1, loss + 0.05)) <= score + 1e-9, $"loss {loss}");
        }
    }

    [Fact]
    public void LabProof_FastAboveSlowWhenHealthy_SlowAboveFastWhenFastLoses20Percent()
    {
        // The lab's WAN links: fast 5 ms and slow 40 ms each way (RTT 10 and 80 ms).
        Assert.True(PathScore.Of(10, 1, 0) > PathScore.Of(80, 1, 0));
        Assert.True(PathScore.Of(80, 1, 0) > PathScore.Of(10, 1, 0.2));
    }
}
