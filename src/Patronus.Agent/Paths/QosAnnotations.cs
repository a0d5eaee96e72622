using System.Globalization;

namespace Patronus.Agent.Paths;

/// <summary>A pod's QoS as its annotations ask for it: the class, its SLA with the pod's overrides, and why anything was ignored.</summary>
/// <param name="Class">The class the pod's traffic is steered as.</param>
/// <param name="Sla">The class's SLA with the pod's <c>max-latency-ms</c> and <c>min-bandwidth-mbps</c> in it.</param>
/// <param name="MinBandwidthMbps">The guaranteed egress rate asked for (an HTB class's rate), or null.</param>
/// <param name="Problems">One sentence per refused annotation, naming it; empty when all were valid.</param>
public sealed record QosRequest(QosClass Class, QosSla Sla, double? MinBandwidthMbps, IReadOnlyList<string> Problems)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// Reads <c>patronus.io/qos-class</c>, <c>patronus.io/max-latency-ms</c> and <c>patronus.io/min-bandwidth-mbps</c>.
/// Annotations are user input: nothing here throws. When any of the three is invalid the pod gets the default
/// class with no overrides (never half of what it asked for) and <see cref="QosRequest.Problems"/> says why, one
/// sentence per annotation, to be logged and shown as an event.
/// </summary>
public static class QosAnnotations
{
    public const string QosClassKey = "patronus.io/qos-class";
    public const string MaxLatencyKey = "patronus.io/max-latency-ms";
    public const string MinBandwidthKey = "patronus.io/min-bandwidth-mbps";

    /// <summary>Bounds on the overrides: an hour of latency or a terabit is a typo, not a wish.</summary>
    public const double MaxLatencyLimitMs = 60_000;
    public const double MinBandwidthLimitMbps = 1_000_000;

    public static QosRequest Parse(IReadOnlyDictionary<string, string>? annotations, QosClass defaultClass)
    {
        ArgumentNullException.ThrowIfNull(defaultClass);
        var problems = new List<string>();
        var chosen = defaultClass;
        string? value = null;
        if (annotations?.TryGetValue(QosClassKey, out value) == true)
        {
            var name = value!.Trim();
            if (QosClass.Find(name) is { } found)
                chosen = found;
            else
                problems.Add($"{QosClassKey}: unknown class \"{Printable(value)}\" (expected {string.Join(", ", QosClass.All.Select(c => c.Name))})");
        }
        var maxLatency = ReadNumber(annotations, MaxLatencyKey, MaxLatencyLimitMs, "milliseconds", problems);
        var minBandwidth = ReadNumber(annotations, MinBandwidthKey, MinBandwidthLimitMbps, "Mbit/s", problems);
        if (problems.Count > 0)
            return new QosRequest(defaultClass, defaultClass.Sla, null, problems);
        var sla = chosen.Sla with
        {
            MaxLatencyMs = maxLatency ?? chosen.Sla.MaxLatencyMs,
            MinBandwidthMbps = minBandwidth ?? chosen.Sla.MinBandwidthMbps,
        };
        return new QosRequest(chosen, sla, minBandwidth, []);
    }

    private static double? ReadNumber(IReadOnlyDictionary<string, string>? annotations, string key, double limit, string unit, List<string> problems)
    {
        if (annotations is null || !annotations.TryGetValue(key, out var text))
            return null;
        // Plain decimal only: no exponent, no thousands separators, no "10ms": what a person writes in YAML.
        if (!double.TryParse(text.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            problems.Add($"{key}: \"{Printable(text)}\" is not a number of {unit} (write it like \"50\" or \"12.5\")");
            return null;
        }
        if (value <= 0 || value > limit)
        {
            problems.Add($"{key}: {value.ToString(CultureInfo.InvariantCulture)} is out of range (above 0, at most {limit.ToString(CultureInfo.InvariantCulture)} {unit})");
            return null;
        }
        return value;
    }

    /// <summary>Annotation text as it may appear in a log line: short, no control characters.</summary>
    private static string Printable(string text)
    {
        var cut = text.Length > 64 ? text[..64] + "…" : text;
        return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
    }
}
