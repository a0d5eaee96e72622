using Patronus.Cli.Lab.Wan;

namespace Patronus.Cli.Tests.Lab.Wan;

public class DelayLineTests
{
    [Fact]
    public void Frames_LeaveInDueOrder_AndOnlyOnceDue()
    {
        var line = new DelayLine<string>();
        line.Add("late", 3);
        line.Add("early", 1);
        line.Add("middle", 2);

        Assert.Equal(1, line.NextDue);
        Assert.False(line.TryTakeDue(0.5, out _));
        Assert.True(line.TryTakeDue(2.5, out var first));
        Assert.True(line.TryTakeDue(2.5, out var second));
        Assert.False(line.TryTakeDue(2.5, out _));
        Assert.Equal(["early", "middle"], new[] { first, second });
        Assert.Equal(1, line.Count);
    }

    [Fact]
    public void FramesDueAtTheSameTime_KeepTheOrderTheyCameIn()
    {
        var line = new DelayLine<int>();
        for (var i = 0; i < 1000; i++)
            line.Add(i, 5);

        var order = new List<int>();
        while (line.TryTakeDue(5, out var frame))
            order.Add(frame);

        Assert.Equal(Enumerable.Range(0, 1000), order);
    }

    [Fact]
    public void WithoutJitter_ADelayedStreamKeepsItsOrder()
    {
        var shaper = new LinkShaper(new Random(3));
        shaper.Apply(new WanLinkSettings(Delay: 7, 0, 0, Rate: 50));
        var line = new DelayLine<int>();
        for (var i = 0; i < 500; i++)
            if (shaper.Admit(i * 0.0001, 1200, out var due))
                line.Add(i, due);

        var order = new List<int>();
        while (line.TryTakeDue(double.MaxValue, out var frame))
            order.Add(frame);

        Assert.Equal(order.Order(), order);
    }

    [Fact]
    public void WithJitter_FramesCloseTogetherMayOvertakeEachOther()
    {
        var shaper = new LinkShaper(new Random(3));
        shaper.Apply(new WanLinkSettings(Delay: 10, Jitter: 5, 0, null));
        var line = new DelayLine<int>();
        for (var i = 0; i < 500; i++)
            if (shaper.Admit(i * 0.0001, 100, out var due))
                line.Add(i, due);

        var order = new List<int>();
        while (line.TryTakeDue(double.MaxValue, out var frame))
            order.Add(frame);

        Assert.Equal(500, order.Count);
        Assert.NotEqual(order.Order(), order);
    }

    [Fact]
    public void TakeAll_EmptiesTheLine()
    {
        var line = new DelayLine<int>();
        line.Add(1, 10);
        line.Add(2, 20);

        Assert.Equal([1, 2], line.TakeAll());
        Assert.Equal(0, line.Count);
        Assert.Null(line.NextDue);
    }
}
