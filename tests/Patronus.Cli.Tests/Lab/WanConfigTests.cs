using Patronus.Cli.Lab.Config;

namespace Patronus.Cli.Tests.Lab;

/// <summary>LAB.yaml's wan list and the rules between clusters: every mistake named by its field.</summary>
public class WanConfigTests
{
    private const string TwoClusters = """
        clusters:
        - id: aws-us-west-2
          podCIDR: 10.244.0.0/16
          serviceCIDR: 10.96.0.0/16
          nodes: [{name: gw-1, gateway: true}, {name: node-2}]
        - id: gcp-us-central1
          podCIDR: 10.248.0.0/16
          serviceCIDR: 10.97.0.0/16
          nodes: [{name: gw-1, gateway: true}]
        """;

    private static LabConfig Read(string yaml) => LabConfigReader.Read(yaml, "LAB.yaml", "/labs", checkFiles: false);

    private static string Error(string yaml) => Assert.Throws<LabConfigException>(() => Read(yaml)).Message;

    private static string WithWan(string link) => TwoClusters + "\nwan:\n- " + link + "\n";

    [Fact]
    public void TheIssuesExample_IsRead_InMillisecondsPercentAndMbit()
    {
        var config = Read(WithWan("{id: fiber, between: [aws-us-west-2, gcp-us-central1], delay: 5ms, jitter: 0ms, loss: 0%, rate: 1000mbit}"));

        var link = Assert.Single(config.WanLinks);
        Assert.Equal("fiber", link.Id);
        Assert.Equal(["aws-us-west-2", "gcp-us-central1"], link.Between);
        Assert.Equal(5, link.Delay);
        Assert.Equal(0, link.Jitter);
        Assert.Equal(0, link.LossPercent);
        Assert.Equal(1000, link.RateMbit);
    }

    [Fact]
    public void KeysLeftOut_MeanNone()
    {
        var link = Assert.Single(Read(WithWan("{id: plain, between: [gcp-us-central1, aws-us-west-2]}")).WanLinks);

        Assert.Equal((0.0, 0.0, 0.0, (double?)null), (link.Delay, link.Jitter, link.LossPercent, link.RateMbit));
        Assert.Equal(["gcp-us-central1", "aws-us-west-2"], link.Between);
    }

    [Fact]
    public void ALabWithoutWan_HasNoLinks_AndASingleClusterFileIsUnchanged()
    {
        Assert.Empty(Read(TwoClusters).WanLinks);
        Assert.Empty(Read("clusters:\n- id: a\n  nodes: [{name: n1}]\n").WanLinks);
    }

    [Theory]
    [InlineData("5ms", 5)]
    [InlineData("1.5s", 1500)]
    [InlineData("250us", 0.25)]
    [InlineData("0ms", 0)]
    [InlineData("60s", 60000)]
    public void Durations_AreReadInTheirUnits(string text, double milliseconds)
    {
        Assert.True(WanUnits.TryParseDuration(text, out var parsed));
        Assert.Equal(milliseconds, parsed, 9);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("5 min")]
    [InlineData("-5ms")]
    [InlineData("ms")]
    [InlineData("61s")]
    [InlineData("5,5ms")]
    public void Durations_WithoutAKnownUnit_AreRefused(string text) => Assert.False(WanUnits.TryParseDuration(text, out _));

    [Theory]
    [InlineData("1000mbit", 1000)]
    [InlineData("1gbit", 1000)]
    [InlineData("500kbit", 0.5)]
    [InlineData("8000bit", 0.008)]
    [InlineData("2.5Mbit", 2.5)]
    public void Rates_AreReadInMbit(string text, double mbit)
    {
        Assert.True(WanUnits.TryParseRate(text, out var parsed));
        Assert.Equal(mbit, parsed, 9);
    }

    [Theory]
    [InlineData("1000")]
    [InlineData("0mbit")]
    [InlineData("100mbps")]
    [InlineData("1bit")]
    [InlineData("1tbit")]
    public void Rates_OutOfRangeOrWithoutAUnit_AreRefused(string text) => Assert.False(WanUnits.TryParseRate(text, out _));

    [Theory]
    [InlineData("0%", 0)]
    [InlineData("0.5%", 0.5)]
    [InlineData("100%", 100)]
    public void Percentages_AreRead(string text, double percent)
    {
        Assert.True(WanUnits.TryParsePercent(text, out var parsed));
        Assert.Equal(percent, parsed, 9);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("101%")]
    [InlineData("-1%")]
    [InlineData("0.5")]
    public void Percentages_OutOfRangeOrWithoutTheSign_AreRefused(string text) => Assert.False(WanUnits.TryParsePercent(text, out _));

    [Theory]
    [InlineData("{id: f, between: [aws-us-west-2, gcp-us-central1], delay: 5}", "wan[0].delay: \"5\" is not a duration")]
    [InlineData("{id: f, between: [aws-us-west-2, gcp-us-central1], jitter: 2 parsecs}", "wan[0].jitter: \"2 parsecs\" is not a duration")]
    [InlineData("{id: f, between: [aws-us-west-2, gcp-us-central1], loss: 200%}", "wan[0].loss: \"200%\" is not a percentage")]
    [InlineData("{id: f, between: [aws-us-west-2, gcp-us-central1], rate: fast}", "wan[0].rate: \"fast\" is not a rate")]
    [InlineData("{id: f, between: [aws-us-west-2, azure-east]}", "wan[0].between[1]: \"azure-east\" is not a cluster of this lab (clusters: aws-us-west-2, gcp-us-central1)")]
    [InlineData("{id: f, between: [aws-us-west-2]}", "wan[0].between: needs exactly two cluster ids, not 1")]
    [InlineData("{id: f, between: [aws-us-west-2, gcp-us-central1, aws-us-west-2]}", "wan[0].between: needs exactly two cluster ids, not 3")]
    [InlineData("{id: f, between: [aws-us-west-2, aws-us-west-2]}", "wan[0].between: joins cluster aws-us-west-2 to itself")]
    [InlineData("{id: f, between: aws-us-west-2}", "wan[0].between: expected a list")]
    [InlineData("{between: [aws-us-west-2, gcp-us-central1]}", "wan[0].id: is required")]
    [InlineData("{id: f}", "wan[0].between: is required")]
    [InlineData("{id: Fiber!, between: [aws-us-west-2, gcp-us-central1]}", "wan[0].id: \"Fiber!\" is not a link id")]
    [InlineData("{id: f, between: [aws-us-west-2, gcp-us-central1], latency: 5ms}", "wan[0].latency: unknown key (known here: id, between, delay, jitter, loss, rate)")]
    [InlineData("fiber", "wan[0]: expected a mapping")]
    public void BadLinks_AreRefused_NamingTheField(string link, string expected) =>
        Assert.Contains(expected, Error(WithWan(link)));

    [Fact]
    public void ALinkToAClusterWithoutAGateway_IsRefused()
    {
        var error = Error("""
            clusters:
            - id: a
              nodes: [{name: n1, gateway: true}]
            - id: b
              podCIDR: 10.248.0.0/16
              serviceCIDR: 10.97.0.0/16
              nodes: [{name: n1}]
            wan:
            - {id: f, between: [a, b]}
            """);

        Assert.Contains("LAB.yaml:9: wan[0].between[1]: cluster b has no gateway node; mark one with `gateway: true`", error);
    }

    [Fact]
    public void TwoLinksWithOneId_AreRefused() =>
        Assert.Contains("wan: link id \"f\" is used 2 times",
            Error(TwoClusters + "\nwan:\n- {id: f, between: [aws-us-west-2, gcp-us-central1]}\n- {id: f, between: [gcp-us-central1, aws-us-west-2]}\n"));

    [Fact]
    public void ASubnetSharedByTwoClusters_IsRefusedInALabWithLinks_EachClusterHasItsOwnFabric()
    {
        const string shared = """
            clusters:
            - id: a
              nodes: [{name: n1, subnet: shared, gateway: true}]
            - id: b
              podCIDR: 10.248.0.0/16
              serviceCIDR: 10.97.0.0/16
              nodes: [{name: n1, subnet: shared, gateway: true}]
            """;

        Assert.Contains("wan: subnet \"shared\" has nodes of clusters a and b", Error(shared + "\nwan:\n- {id: f, between: [a, b]}\n"));
        Assert.Equal(2, Read(shared).Clusters.Count);
    }

    [Fact]
    public void EveryMistake_IsReportedAtOnce()
    {
        var error = Error(WithWan("{id: f, between: [aws-us-west-2, nowhere], delay: 5, loss: lots}"));

        Assert.Contains("wan[0].between[1]", error);
        Assert.Contains("wan[0].delay", error);
        Assert.Contains("wan[0].loss", error);
    }
}
