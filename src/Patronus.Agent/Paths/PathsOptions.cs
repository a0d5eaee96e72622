using System.Globalization;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Paths;

/// <summary>Settings of the paths feature: how paths are probed, how choices hold, and what pods get by default.</summary>
public sealed class PathsOptions
{
    /// <summary>Probing and the Up / Degraded / Down state machine (the probe interval is <c>path-probe-interval-ms</c>).</summary>
    public PathHealthOptions Health { get; set; } = new();

    /// <summary>The choosers' hysteresis (the hold-down is <c>path-hold-down-ms</c>).</summary>
    public PathChooserOptions Chooser { get; set; } = new();

    /// <summary>The class of pods without <c>patronus.io/qos-class</c> (the seed's <c>sdwan.default_qos_class</c>).</summary>
    public QosClass DefaultClass { get; set; } = QosClass.BestEffort;

    /// <summary>Each path's capacity in Mbit/s, by path id, where the operator knows it (bulk's spare capacity, minimum bandwidths).</summary>
    public Dictionary<string, double> Capacities { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Reads the paths options; each bad value is refused naming its option.</summary>
internal static class PathsSettings
{
    public static void Read(AgentOptions options, IConfiguration configuration)
    {
        var paths = options.Paths;
        if (Milliseconds(configuration, "pathProbeIntervalMs", "path-probe-interval-ms") is { } interval)
        {
            if (interval <= TimeSpan.Zero || interval > TimeSpan.FromSeconds(10))
                throw new AgentOptionsException($"option 'path-probe-interval-ms' is {interval.TotalMilliseconds}; expected above 0 and at most 10000");
            paths.Health = paths.Health with { ProbeInterval = interval };
        }
        if (Milliseconds(configuration, "pathHoldDownMs", "path-hold-down-ms") is { } holdDown)
            paths.Chooser = paths.Chooser with { HoldDown = holdDown };
        try
        {
            paths.DefaultClass = QosClass.ParseDefault(configuration["defaultQosClass"], "default-qos-class");
        }
        catch (ArgumentException e)
        {
            throw new AgentOptionsException($"option {e.Message}");
        }
        if (configuration["pathCapacities"] is { } capacities && !string.IsNullOrWhiteSpace(capacities))
        {
            foreach (var entry in capacities.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
                if (parts.Length != 2 || parts[0].Length == 0
                    || !double.TryParse(parts[1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var mbps) || mbps <= 0 || !double.IsFinite(mbps))
                    throw new AgentOptionsException($"option 'path-capacities': '{entry}' is not PATH=MBIT (such as fast=50)");
                paths.Capacities[parts[0]] = mbps;
            }
        }
    }

    private static TimeSpan? Milliseconds(IConfiguration configuration, string key, string option)
    {
        if (configuration[key] is not { } text || string.IsNullOrWhiteSpace(text))
            return null;
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
            throw new AgentOptionsException($"option '{option}' is '{text}'; expected a whole number of milliseconds");
        return TimeSpan.FromMilliseconds(ms);
    }
}
