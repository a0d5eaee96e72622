using Patronus.Cli.Lab.Commands;
using Patronus.Cli.Lab.Wan;

namespace Patronus.Cli.Tests.Lab.Wan;

/// <summary>What `lab wan` changes, and what it refuses, naming the option.</summary>
public class WanChangeTests
{
    private static readonly WanLinkSettings Current = new(Delay: 5, Jitter: 1, Loss: 0.5, Rate: 100, Up: true, Generation: 3);

    [Fact]
    public void ValuesLeftOut_StayAsTheyAre()
    {
        Assert.Equal(Current with { Delay = 20 }, new WanChange(20, null, null, null, null).ApplyTo(Current));
        Assert.Equal(Current with { Up = false }, new WanChange(null, null, null, null, false).ApplyTo(Current));
        Assert.True(new WanChange(null, null, null, null, null).IsEmpty);
    }

    [Fact]
    public void RateZero_RemovesTheLimit() =>
        Assert.Null(new WanChange(null, null, null, 0, null).ApplyTo(Current).Rate);

    [Theory]
    [InlineData(-1.0, null, null, null, "--delay")]
    [InlineData(60001.0, null, null, null, "--delay")]
    [InlineData(null, -2.0, null, null, "--jitter")]
    [InlineData(null, null, 100.5, null, "--loss")]
    [InlineData(null, null, -0.1, null, "--loss")]
    [InlineData(null, null, null, -5.0, "--rate")]
    [InlineData(null, null, null, 0.001, "--rate")]
    public void OutOfRange_IsRefused_NamingTheOption(double? delay, double? jitter, double? loss, double? rate, string option) =>
        Assert.StartsWith(option + ":", new WanChange(delay, jitter, loss, rate, null).Check());

    [Fact]
    public void InRange_IsAccepted() =>
        Assert.Null(new WanChange(0, 0, 100, 0, true).Check());

    [Fact]
    public void Settings_RoundTripThroughTheirFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            Current.Write(file);
            Assert.Equal(Current, WanLinkSettings.Read(file));
            var unlimited = Current with { Rate = null, Up = false };
            unlimited.Write(file);
            Assert.Equal(unlimited, WanLinkSettings.Read(file));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
