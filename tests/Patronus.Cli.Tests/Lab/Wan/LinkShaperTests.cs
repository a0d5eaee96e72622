using Patronus.Cli.Lab.Wan;

namespace Patronus.Cli.Tests.Lab.Wan;

/// <summary>One direction of a WAN link, fed frames at chosen times: time is an argument, chance a seeded Random.</summary>
public class LinkShaperTests
{
    private static LinkShaper Shaper(WanLinkSettings settings, int seed = 1)
    {
        var shaper = new LinkShaper(new Random(seed));
        shaper.Apply(settings);
        return shaper;
    }

    [Fact]
    public void Delay_HoldsEveryFrameForExactlyTheOneWayDelay()
    {
        var shaper = Shaper(new WanLinkSettings(Delay: 20, Jitter: 0, Loss: 0, Rate: null));

        Assert.True(shaper.Admit(10.0, 1514, out var due));
        Assert.Equal(10.020, due, 9);
        Assert.True(shaper.Admit(10.5, 60, out due));
        Assert.Equal(10.520, due, 9);
    }

    [Fact]
    public void NoSettings_PassFramesAtOnce()
    {
        var shaper = Shaper(new WanLinkSettings(0, 0, 0, null));

        for (var i = 0; i < 1000; i++)
        {
            Assert.True(shaper.Admit(i * 1e-6, 1514, out var due));
            Assert.Equal(i * 1e-6, due);
        }
    }

    [Fact]
    public void ADownLink_DropsEverything_AndCountsIt()
    {
        var shaper = Shaper(new WanLinkSettings(5, 0, 0, null, Up: false));

        for (var i = 0; i < 10; i++)
            Assert.False(shaper.Admit(i, 100, out _));
        Assert.Equal(10, shaper.DroppedDown);

        shaper.Apply(new WanLinkSettings(5, 0, 0, null, Up: true));
        Assert.True(shaper.Admit(11, 100, out _));
    }

    [Fact]
    public void Jitter_KeepsEachDelayWithinPlusOrMinusJitter_AndSpreadsThem()
    {
        var shaper = Shaper(new WanLinkSettings(Delay: 10, Jitter: 4, Loss: 0, Rate: null));
        var delays = new List<double>();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(shaper.Admit(i, 100, out var due));
            delays.Add((due - i) * 1000);
        }

        Assert.All(delays, d => Assert.InRange(d, 6 - 1e-9, 14 + 1e-9));
        Assert.InRange(delays.Min(), 6, 6.1);
        Assert.InRange(delays.Max(), 13.9, 14);
        Assert.InRange(delays.Average(), 9.9, 10.1);
    }

    [Fact]
    public void Jitter_LargerThanTheDelay_NeverDeliversBeforeTheFrameCame()
    {
        var shaper = Shaper(new WanLinkSettings(Delay: 1, Jitter: 5, Loss: 0, Rate: null));

        for (var i = 0; i < 1000; i++)
        {
            Assert.True(shaper.Admit(i, 100, out var due));
            Assert.True(due >= i);
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 100)]
    [InlineData(50, 5000)]
    [InlineData(100, 10_000)]
    public void Loss_DropsThatShareOfFrames(double percent, int expectedOfTenThousand)
    {
        var shaper = Shaper(new WanLinkSettings(0, 0, percent, null), seed: 7);

        var dropped = Enumerable.Range(0, 10_000).Count(i => !shaper.Admit(i, 100, out _));

        // A binomial draw: within 4 standard deviations (at most 200 of 10 000) of the expected count.
        Assert.InRange(dropped, expectedOfTenThousand - 200, expectedOfTenThousand + 200);
        Assert.Equal(dropped, shaper.DroppedLoss);
    }

    [Fact]
    public void Loss_WithTheSameSeed_DropsTheSameFrames()
    {
        var first = Shaper(new WanLinkSettings(0, 0, 30, null), seed: 42);
        var second = Shaper(new WanLinkSettings(0, 0, 30, null), seed: 42);

        var a = Enumerable.Range(0, 1000).Select(i => first.Admit(i, 1, out _)).ToArray();
        var b = Enumerable.Range(0, 1000).Select(i => second.Admit(i, 1, out _)).ToArray();

        Assert.Equal(a, b);
        Assert.Contains(false, a);
        Assert.Contains(true, a);
    }

    [Fact]
    public void Rate_PacesABackToBackBurst_AfterTheBucketEmpties()
    {
        // 12 Mbit/s: a 1500-byte frame costs exactly 1 ms; the bucket holds 5 ms, five frames.
        var shaper = Shaper(new WanLinkSettings(0, 0, 0, Rate: 12));
        var departures = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            Assert.True(shaper.Admit(100.0, 1500, out var due));
            departures.Add((due - 100.0) * 1000);
        }

        Assert.All(departures.Take(5), d => Assert.Equal(0, d, 9));
        for (var i = 5; i < 20; i++)
            Assert.Equal(i - 4, departures[i], 6);
    }

    [Fact]
    public void Rate_CarriesTheRateOverTime_AndNoMore()
    {
        // 10 Mbit/s offered 20 Mbit/s for a second: about half goes through (the rest finds the queue full).
        var shaper = Shaper(new WanLinkSettings(0, 0, 0, Rate: 10));
        long passedBytes = 0;
        double last = 0;
        for (var i = 0; i < 1667; i++)
        {
            var now = i * 0.0006;
            if (shaper.Admit(now, 1500, out var due))
            {
                passedBytes += 1500;
                last = due;
            }
        }

        var mbit = passedBytes * 8 / last / 1e6;
        Assert.InRange(mbit, 9.5, 10.6);
        Assert.True(shaper.DroppedQueue > 700, $"dropped {shaper.DroppedQueue}");
    }

    [Fact]
    public void Rate_QueuesAtMostTheQueueTime_ThenDropsTheTail()
    {
        var shaper = Shaper(new WanLinkSettings(0, 0, 0, Rate: 1));
        double latest = 0;
        var passed = 0;
        for (var i = 0; i < 100; i++)
            if (shaper.Admit(0, 1500, out var due))
            {
                passed++;
                latest = Math.Max(latest, due);
            }

        // 1500 bytes at 1 Mbit/s is 12 ms; the bucket holds two full frames (24.2 ms): the 10th frame leaves after
        // 120 - 24.2 ms, within the 100 ms queue, the 11th would wait 107.8 ms.
        Assert.True(latest <= LinkShaper.QueueSeconds, $"a frame waited {latest} s");
        Assert.Equal(10, passed);
        Assert.Equal(90, shaper.DroppedQueue);
    }

    [Fact]
    public void Rate_AndDelay_Add()
    {
        var shaper = Shaper(new WanLinkSettings(Delay: 20, 0, 0, Rate: 12));
        for (var i = 0; i < 5; i++)
            shaper.Admit(0, 1500, out _);

        Assert.True(shaper.Admit(0, 1500, out var due));
        Assert.Equal(0.021, due, 9);
    }

    [Fact]
    public void ARemovedRate_PassesAtOnceAgain()
    {
        var shaper = Shaper(new WanLinkSettings(0, 0, 0, Rate: 1));
        for (var i = 0; i < 5; i++)
            shaper.Admit(0, 1500, out _);
        shaper.Apply(new WanLinkSettings(0, 0, 0, null));

        Assert.True(shaper.Admit(0, 1500, out var due));
        Assert.Equal(0, due);
    }
}
