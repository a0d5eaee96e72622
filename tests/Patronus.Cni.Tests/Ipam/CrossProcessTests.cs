using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Patronus.Cni.Tests.Ipam;

/// <summary>
/// The store against real concurrent processes (each with its own descriptors and flock, as plugin processes
/// have) and against SIGKILL at random moments. The processes run tests/Patronus.Ipam.Stress.
/// </summary>
public class CrossProcessTests(ITestOutputHelper output)
{
    private const string DualStack = """{"ranges":[[{"subnet":"10.40.0.0/16"}],[{"subnet":"fd00:40::/64"}]]}""";

    private sealed class StressProcess : IDisposable
    {
        private readonly Process _process;
        private readonly BlockingCollection<string> _lines = [];

        public StressProcess(string configFile, string network, params string[] args)
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Patronus.Ipam.Stress.dll"));
            start.ArgumentList.Add(configFile);
            start.ArgumentList.Add(network);
            foreach (var arg in args)
                start.ArgumentList.Add(arg);
            _process = new Process { StartInfo = start };
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                    _lines.CompleteAdding();
                else
                    _lines.Add(e.Data);
            };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Errors.Enqueue(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public List<string> Lines { get; } = [];

        public ConcurrentQueue<string> Errors { get; } = [];

        public string NextLine()
        {
            Assert.True(_lines.TryTake(out var line, TimeSpan.FromMinutes(3)), $"no output; stderr: {string.Join("\n", Errors)}");
            Lines.Add(line!);
            return line!;
        }

        /// <summary>Waits for exit and returns the exit code with the rest of the output.</summary>
        public int Finish()
        {
            Assert.True(_process.WaitForExit(TimeSpan.FromMinutes(3)), "stress process did not exit");
            _process.WaitForExit();
            Lines.AddRange(_lines);
            return _process.ExitCode;
        }

        public void KillHard() => _process.Kill(); // SIGKILL on Unix

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill();
            _process.Dispose();
        }
    }

    private static string WriteConfig(IpamTestNetwork net)
    {
        Directory.CreateDirectory(net.DataDir);
        var file = Path.Combine(net.DataDir, "ipam.json");
        File.WriteAllText(file, net.Json);
        return file;
    }

    /// <summary>Starts one process per id, waits until all are ready, then lets them go at the same instant.</summary>
    private static List<StressProcess> RunAtOnce(IpamTestNetwork net, string configFile, string mode, int count)
    {
        var go = Path.Combine(net.DataDir, $"go-{mode}");
        var processes = Enumerable.Range(0, count).Select(i => new StressProcess(configFile, net.Network, mode, $"c{i}", go)).ToList();
        foreach (var process in processes)
            Assert.Equal("ready", process.NextLine());
        File.WriteAllText(go, "");
        foreach (var process in processes)
            Assert.True(process.Finish() == 0, string.Join("\n", process.Lines.Concat(process.Errors)));
        return processes;
    }

    [Fact]
    public void SixtyFourProcesses_AddAtOnceThenDelAtOnce_DistinctAddressesThenNothingLeft()
    {
        using var net = new IpamTestNetwork(DualStack);
        var configFile = WriteConfig(net);

        var adds = RunAtOnce(net, configFile, "add", 64);
        try
        {
            var leases = adds.Select(p => p.Lines[^1].Split(',').Select(IPAddress.Parse).ToArray()).ToList();
            Assert.All(leases, lease => Assert.Equal(2, lease.Length));
            Assert.Equal(128, leases.SelectMany(l => l).Distinct().Count());
            var claims = net.Claims();
            Assert.Equal(128, claims.Count);
            for (var i = 0; i < 64; i++)
                Assert.All(leases[i], address => Assert.Equal(($"c{i}", "eth0"), claims[address]));
        }
        finally
        {
            adds.ForEach(p => p.Dispose());
        }

        RunAtOnce(net, configFile, "del", 64).ForEach(p => p.Dispose());
        Assert.Empty(net.Claims());
        Assert.Equal(0, net.IntentEntries());
    }

    [Fact]
    public void KilledAtRandomMomentsDuringAddAndDel_GcWithTheValidAttachments_LeavesNoLeakAndNoDuplicate()
    {
        using var net = new IpamTestNetwork(DualStack);
        var configFile = WriteConfig(net);
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        // The checker's view, as a runtime's: an attachment is valid once its ADD returned, until its DEL starts.
        var valid = new HashSet<(string, string)>();
        var completedAdds = 0;

        for (var round = 0; round < 100; round++)
        {
            using var process = new StressProcess(configFile, net.Network, "loop", $"r{round}", "3");
            Assert.Equal("ready", process.NextLine());
            Thread.Sleep(random.Next(0, 40));
            process.KillHard();
            process.Finish();
            foreach (var line in process.Lines)
                if (line.StartsWith("added ", StringComparison.Ordinal))
                {
                    valid.Add((line[6..], "eth0"));
                    completedAdds++;
                }
                else if (line.StartsWith("deleting ", StringComparison.Ordinal))
                {
                    valid.Remove((line[9..], "eth0"));
                }
        }
        output.WriteLine($"{completedAdds} ADDs completed, {valid.Count} attachments valid at the end");

        var ipam = net.NewIpam();
        var store = ipam.Store;
        var intentsWithoutClaim = store.ReadAllIntents().Count(i => i.Record is { } r && !store.ReadClaim(r.Address).IsOwnedBy(r.Owner));
        var claimsOfInvalid = store.ReadAllClaims().Count(c => c.Claim.Owner is { } o && !valid.Contains((o.ContainerId, o.IfName)));
        output.WriteLine($"before GC: {intentsWithoutClaim} intents without their claim, {claimsOfInvalid} claims of attachments not valid");
        var report = ipam.Collect(valid);
        output.WriteLine($"GC: {report}");

        var claims = net.Claims();
        Assert.All(claims.Values, owner => Assert.Contains(owner, valid));
        Assert.Equal(valid.Count * 2, claims.Count);
        var leased = new HashSet<IPAddress>();
        foreach (var (containerId, ifName) in valid)
        {
            var lease = ipam.Find(containerId, ifName);
            Assert.NotNull(lease);
            Assert.All(lease.Addresses, a => Assert.True(leased.Add(a.Address), $"{a.Address} leased twice"));
        }
        Assert.Equal(valid.Count * 2, net.IntentEntries());

        var after = ipam.Allocate("after", "eth0", null);
        Assert.All(after.Addresses, a => Assert.DoesNotContain(a.Address, leased));
        Assert.Equal(new Patronus.Cni.Ipam.GcReport(0, 0), ipam.Collect(valid.Append(("after", "eth0")).ToHashSet()));
    }
}
