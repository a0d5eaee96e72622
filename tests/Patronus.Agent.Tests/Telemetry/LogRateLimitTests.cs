using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Tests.Telemetry;

public class LogRateLimitTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Now { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now;

        public void Advance(TimeSpan by) => Now += by.Ticks;
    }

    [Fact]
    public void BurstPerWindow_PassesThenSuppresses_AndTheNextWindowReportsHowManyWereLeftOut()
    {
        var time = new ManualTime();
        var limit = new LogRateLimit(3, TimeSpan.FromMinutes(1), time);

        var first = Enumerable.Range(0, 10).Select(_ => limit.TryEnter(out long _)).ToArray();
        time.Advance(TimeSpan.FromSeconds(59));
        var stillSuppressed = limit.TryEnter(out _);
        time.Advance(TimeSpan.FromSeconds(1));
        var next = limit.TryEnter(out var suppressed);
        var afterThat = limit.TryEnter(out var suppressedAfter);

        Assert.Equal([true, true, true, false, false, false, false, false, false, false], first);
        Assert.False(stillSuppressed);
        Assert.True(next);
        Assert.Equal(8, suppressed);
        Assert.True(afterThat);
        Assert.Equal(0, suppressedAfter);
    }
}
