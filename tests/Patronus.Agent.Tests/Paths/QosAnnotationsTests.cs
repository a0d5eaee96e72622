using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class QosAnnotationsTests
{
    private static QosRequest Parse(params (string Key, string Value)[] annotations) =>
        QosAnnotations.Parse(annotations.ToDictionary(a => a.Key, a => a.Value), QosClass.BestEffort);

    [Fact]
    public void NoAnnotations_GetTheDefaultClass()
    {
        var request = QosAnnotations.Parse(null, QosClass.BestEffort);
        Assert.Equal((QosClass.BestEffort, QosClass.BestEffort.Sla, (double?)null, true), (request.Class, request.Sla, request.MinBandwidthMbps, request.IsValid));
        Assert.Same(QosClass.Bulk, QosAnnotations.Parse(new Dictionary<string, string> { ["other"] = "x" }, QosClass.Bulk).Class);
    }

    [Theory]
    [InlineData("latency-sensitive")]
    [InlineData("best-effort")]
    [InlineData("bulk")]
    [InlineData(" bulk ")]
    public void EachClass_IsRecognised(string name)
    {
        var request = Parse((QosAnnotations.QosClassKey, name));
        Assert.Equal(name.Trim(), request.Class.Name);
        Assert.Equal(request.Class.Sla, request.Sla);
    }

    [Fact]
    public void Overrides_GoIntoTheSla()
    {
        var request = Parse((QosAnnotations.QosClassKey, "latency-sensitive"), (QosAnnotations.MaxLatencyKey, "20"), (QosAnnotations.MinBandwidthKey, "12.5"));
        Assert.Same(QosClass.LatencySensitive, request.Class);
        Assert.Equal(QosClass.LatencySensitive.Sla with { MaxLatencyMs = 20, MinBandwidthMbps = 12.5 }, request.Sla);
        Assert.Equal(12.5, request.MinBandwidthMbps);
    }

    [Theory]
    [InlineData("patronus.io/qos-class", "gold", "unknown class \"gold\"")]
    [InlineData("patronus.io/qos-class", "Bulk", "unknown class \"Bulk\"")]
    [InlineData("patronus.io/qos-class", "", "unknown class \"\"")]
    [InlineData("patronus.io/max-latency-ms", "fast", "not a number of milliseconds")]
    [InlineData("patronus.io/max-latency-ms", "10ms", "not a number of milliseconds")]
    [InlineData("patronus.io/max-latency-ms", "1e3", "not a number of milliseconds")]
    [InlineData("patronus.io/max-latency-ms", "NaN", "not a number of milliseconds")]
    [InlineData("patronus.io/max-latency-ms", "-5", "not a number of milliseconds")]
    [InlineData("patronus.io/max-latency-ms", "0", "out of range")]
    [InlineData("patronus.io/max-latency-ms", "3600000", "out of range")]
    [InlineData("patronus.io/min-bandwidth-mbps", "1,000", "not a number of Mbit/s")]
    [InlineData("patronus.io/min-bandwidth-mbps", "0", "out of range")]
    [InlineData("patronus.io/min-bandwidth-mbps", "99999999999999999999999999", "out of range")]
    public void InvalidAnnotation_DefaultClassNoOverrides_AndAReasonNamingIt(string key, string value, string why)
    {
        var request = key == QosAnnotations.QosClassKey ? Parse((key, value)) : Parse((QosAnnotations.QosClassKey, "latency-sensitive"), (key, value));
        Assert.False(request.IsValid);
        Assert.Same(QosClass.BestEffort, request.Class);
        Assert.Equal(QosClass.BestEffort.Sla, request.Sla);
        Assert.Null(request.MinBandwidthMbps);
        var problem = Assert.Single(request.Problems);
        Assert.StartsWith(key + ": ", problem);
        Assert.Contains(why, problem);
    }

    [Fact]
    public void SeveralInvalidAnnotations_EachNamed()
    {
        var request = Parse((QosAnnotations.QosClassKey, "gold"), (QosAnnotations.MaxLatencyKey, "x"), (QosAnnotations.MinBandwidthKey, "-1"));
        Assert.Equal([QosAnnotations.QosClassKey, QosAnnotations.MaxLatencyKey, QosAnnotations.MinBandwidthKey], request.Problems.Select(p => p[..p.IndexOf(':')]));
    }

    [Fact]
    public void HostileValue_IsShortenedAndStrippedOfControlCharacters()
    {
        var request = Parse((QosAnnotations.QosClassKey, "evil\nFAKE LOG LINE" + new string('x', 500)));
        var problem = Assert.Single(request.Problems);
        Assert.DoesNotContain('\n', problem);
        Assert.True(problem.Length < 200);
    }

    [Fact]
    public void RandomAnnotationText_NeverThrows_AndIsAllOrNothing()
    {
        var random = new Random(7);
        var alphabet = "0123456789.-+e ,abcxyzNaInf\t\n\u00e9";
        for (var i = 0; i < 5000; i++)
        {
            string Text() => new([.. Enumerable.Range(0, random.Next(0, 8)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            var annotations = new Dictionary<string, string>();
            if (random.Next(2) == 0)
                annotations[QosAnnotations.QosClassKey] = random.Next(3) == 0 ? "bulk" : Text();
            if (random.Next(2) == 0)
                annotations[QosAnnotations.MaxLatencyKey] = Text();
            if (random.Next(2) == 0)
                annotations[QosAnnotations.MinBandwidthKey] = Text();
            var request = QosAnnotations.Parse(annotations, QosClass.BestEffort);
            if (!request.IsValid)
                Assert.Equal((QosClass.BestEffort, QosClass.BestEffort.Sla, (double?)null), (request.Class, request.Sla, request.MinBandwidthMbps));
            else
                Assert.True(request.Sla.MaxLatencyMs > 0 && (request.MinBandwidthMbps ?? 1) > 0);
        }
    }

    [Fact]
    public void DefaultClassSetting_ParsedOrRefusedNamingTheSetting()
    {
        Assert.Same(QosClass.BestEffort, QosClass.ParseDefault(null));
        Assert.Same(QosClass.BestEffort, QosClass.ParseDefault(""));
        Assert.Same(QosClass.Bulk, QosClass.ParseDefault("bulk"));
        var error = Assert.Throws<ArgumentException>(() => QosClass.ParseDefault("platinum"));
        Assert.Equal("sdwan.default_qos_class", error.ParamName);
        Assert.Contains("platinum", error.Message);
    }
}
