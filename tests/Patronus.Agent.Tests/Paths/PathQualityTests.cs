using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class PathQualityTests
{
    [Fact]
    public void FirstReply_SeedsLatency_ThenEwmaMovesAnEighthOfTheWay()
    {
        var estimator = new PathQualityEstimator();
        Assert.Null(estimator.Quality.LatencyMs);
        estimator.Replied(10);
        Assert.Equal(10, estimator.Quality.LatencyMs);
        estimator.Replied(18);
        Assert.Equal(11, estimator.Quality.LatencyMs);
    }

    [Fact]
    public void Jitter_FollowsRfc3550_SixteenthOfEachDifference()
    {
        var estimator = new PathQualityEstimator();
        estimator.Replied(10);
        Assert.Equal(0, estimator.Quality.JitterMs);
        estimator.Replied(26);
        Assert.Equal(1, estimator.Quality.JitterMs);
        estimator.Replied(10);
        Assert.Equal(1 + (16 - 1) / 16.0, estimator.Quality.JitterMs, 12);
    }

    [Fact]
    public void Loss_IsOverTheSlidingWindow_AndCleanAfterOneWindow()
    {
        var estimator = new PathQualityEstimator(windowSize: 4);
        estimator.Lost();
        Assert.Equal((1.0, 1), (estimator.Quality.LossRatio, estimator.Quality.Samples));
        estimator.Replied(5);
        estimator.Replied(5);
        estimator.Replied(5);
        Assert.Equal((0.25, 4), (estimator.Quality.LossRatio, estimator.Quality.Samples));
        estimator.Replied(5);
        Assert.Equal((0.0, 4), (estimator.Quality.LossRatio, estimator.Quality.Samples));
    }

    [Fact]
    public void Loss_RandomOutcomes_AlwaysEqualsTheLastWindowCounted()
    {
        var random = new Random(1234);
        for (var run = 0; run < 200; run++)
        {
            var window = random.Next(1, 30);
            var estimator = new PathQualityEstimator(window);
            var history = new List<bool>();
            for (var i = 0; i < 100; i++)
            {
                var lost = random.NextDouble() < 0.3;
                history.Add(lost);
                if (lost)
                    estimator.Lost();
                else
                    estimator.Replied(random.Next(1, 100));
                var recent = history.TakeLast(window).ToList();
                Assert.Equal((double)recent.Count(l => l) / recent.Count, estimator.Quality.LossRatio, 12);
            }
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Replied_NotAFiniteRtt_RefusedNamingIt(double rtt)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new PathQualityEstimator().Replied(rtt));
        Assert.Equal("rttMs", error.ParamName);
    }
}
