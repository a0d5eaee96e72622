using Xunit.Abstractions;

namespace Patronus.Cni.Tests.Fuzz;

/// <summary>
/// The plugin against mutated configs and environments, seeded and bounded so it runs in every suite run
/// (a few hundred cases, about a minute). <c>bench/fuzz/run.sh</c> runs the same fuzzer longer, with other seeds,
/// through <c>PATRONUS_FUZZ_RUNS</c>, <c>PATRONUS_FUZZ_SEED</c> and <c>PATRONUS_FUZZ_REPORT</c>.
/// </summary>
[Collection("kernel")]
public sealed class PluginFuzzTests(ITestOutputHelper output)
{
    private const int DefaultRuns = 250;
    private const int DefaultSeed = 7;

    [Fact]
    public void MutatedConfigsAndEnvironments_GetAResultOrASpecError_WithoutHangsTracesOrLeftovers()
    {
        var runs = int.TryParse(Environment.GetEnvironmentVariable("PATRONUS_FUZZ_RUNS"), out var r) ? r : DefaultRuns;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("PATRONUS_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        using var world = new FuzzWorld();

        var report = new PluginFuzzer(world, seed, perRun: TimeSpan.FromSeconds(20)).Run(runs, output.WriteLine);

        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("PATRONUS_FUZZ_REPORT") is { Length: > 0 } path)
            File.WriteAllText(path, report.ToString());
        Assert.Equal(runs, report.Runs);
        Assert.True(report.Findings.Count == 0, report.ToString());
        // A fuzzer whose cases all fail at the first check exercises nothing: enough must get through to ADD.
        Assert.True(report.Succeeded >= runs / 10, $"only {report.Succeeded} of {runs} runs succeeded: the mutations are too blunt\n{report}");
    }
}
