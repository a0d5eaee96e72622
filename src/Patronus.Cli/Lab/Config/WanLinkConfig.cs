using System.Globalization;

namespace Patronus.Cli.Lab.Config;

/// <summary>
/// A WAN link between two clusters as LAB.yaml gives it. A value left out means none: no delay, no jitter, no loss,
/// no rate limit.
/// </summary>
/// <param name="Between">The two clusters' ids, in LAB.yaml's order.</param>
/// <param name="Delay">One way, added in each direction (a ping's round trip gets twice this).</param>
/// <param name="Jitter">Each frame's delay varies uniformly within ±jitter (never below zero).</param>
/// <param name="LossPercent">The chance, in percent, that a frame is dropped, drawn independently per frame and direction.</param>
/// <param name="RateMbit">Each direction's rate in Mbit/s (a token bucket); null: no limit.</param>
public sealed record WanLinkConfig(string Id, IReadOnlyList<string> Between, double Delay, double Jitter, double LossPercent, double? RateMbit)
{
    public static readonly string[] Keys = ["id", "between", "delay", "jitter", "loss", "rate"];
}

/// <summary>The units LAB.yaml's wan values are written in: durations (5ms, 1.5s, 250us), percentages (0.5%), rates (1000mbit, 1gbit).</summary>
public static class WanUnits
{
    /// <summary>A duration in milliseconds: "5ms", "1.5s", "250us"; a unit is required so "5" is never misread.</summary>
    public static bool TryParseDuration(string text, out double milliseconds)
    {
        milliseconds = 0;
        var (number, unit) = Split(text);
        var scale = unit switch { "ms" => 1.0, "s" => 1000.0, "us" => 0.001, _ => double.NaN };
        if (double.IsNaN(scale) || !TryNumber(number, out var value) || value > 60_000 / scale)
            return false;
        milliseconds = value * scale;
        return true;
    }

    /// <summary>A percentage from 0% to 100%; the % sign is required.</summary>
    public static bool TryParsePercent(string text, out double percent)
    {
        percent = 0;
        var (number, unit) = Split(text);
        return unit == "%" && TryNumber(number, out percent) && percent <= 100;
    }

    /// <summary>A rate in Mbit/s: "1000mbit", "1gbit", "500kbit", "64bit" (bits per second, as tc writes them); above zero.</summary>
    public static bool TryParseRate(string text, out double mbit)
    {
        mbit = 0;
        var (number, unit) = Split(text);
        var scale = unit switch { "bit" => 1e-6, "kbit" => 1e-3, "mbit" => 1.0, "gbit" => 1e3, _ => double.NaN };
        if (double.IsNaN(scale) || !TryNumber(number, out var value) || value <= 0)
            return false;
        mbit = value * scale;
        return mbit is >= 0.008 and <= 100_000;
    }

    private static (string Number, string Unit) Split(string text)
    {
        text = text.Trim();
        var end = 0;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] == '.'))
            end++;
        return (text[..end], text[end..].Trim().ToLowerInvariant());
    }

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value) && value >= 0 && double.IsFinite(value);
}
