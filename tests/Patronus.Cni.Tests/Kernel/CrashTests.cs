using System.Diagnostics;
using System.Text.Json;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>
/// kill -9 at random points during ADD, many times; then GC with the attachments whose ADD did succeed
/// (what a runtime knows): no leaked address, no orphan veth, no address held twice, and new pods still
/// get fresh, distinct addresses.
/// </summary>
[Collection("kernel")]
public class CrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Rounds = 60;

    // Under load an ADD can take many times its calibrated length, and then every kill lands before the
    // plugin has touched anything; the kill window widens until kills leave debris, up to this many rounds.
    private const int MaxRounds = 240;

    [Fact]
    public async Task KilledAdds_ThenGcWithValidAttachments_LeaveNoLeakNoOrphanNoDuplicate()
    {
        using var node = new Node();
        var random = new Random(20261125);
        var valid = new List<(string Id, string Address4, string Address6)>();
        var killed = 0;

        // Calibrate: how long one ADD takes here (bridge already made, fastest of three), so the kills land
        // all along it rather than after it.
        var calibrationPod = node.NewPod();
        var fastest = double.MaxValue;
        for (var i = 0; i < 4; i++)
        {
            var watch = Stopwatch.StartNew();
            node.Add("pcni-crash-cal", calibrationPod);
            fastest = i == 0 ? fastest : Math.Min(fastest, watch.Elapsed.TotalMicroseconds);
            node.Del("pcni-crash-cal", calibrationPod.Path);
        }

        var window = Math.Max(1000.0, fastest);
        var debrisKills = 0;

        for (var round = 0; round < MaxRounds && (round < Rounds || debrisKills == 0); round++)
        {
            var before = node.OurVeths().Count + node.ClaimedAddresses().Count;
            var pod = node.NewPod();
            var id = $"pcni-crash-{round}";
            var start = new ProcessStartInfo("nsenter", [$"--net={node.Ns.Path}", Plugin.Path])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.Environment["CNI_COMMAND"] = "ADD";
            start.Environment["CNI_CONTAINERID"] = id;
            start.Environment["CNI_NETNS"] = pod.Path;
            start.Environment["CNI_IFNAME"] = "eth0";
            start.Environment["CNI_PATH"] = "/usr/lib/cni";
            using var p = Process.Start(start)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            p.StandardInput.Write(node.Conf);
            p.StandardInput.Close();
            var delay = random.Next((int)window);
            var until = Stopwatch.GetTimestamp() + (delay * Stopwatch.Frequency / 1_000_000);
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(50);
            }

            try
            {
                p.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            p.WaitForExit();
            if (p.ExitCode == 0)
            {
                using var doc = JsonDocument.Parse(await stdout);
                var ips = doc.RootElement.GetProperty("ips");
                valid.Add((id, ips[0].GetProperty("address").GetString()!, ips[1].GetProperty("address").GetString()!));
            }
            else
            {
                killed++;
                if (node.OurVeths().Count + node.ClaimedAddresses().Count > before)
                {
                    debrisKills++;
                }
                else
                {
                    // Killed before it did anything: the ADD takes longer than the window here.
                    window *= 1.25;
                }
            }

            if (p.ExitCode == 0)
            {
                // Completed before the kill: the window reaches past the end of the ADD.
                window = Math.Max(1000.0, window * 0.9);
            }
        }

        Assert.True(killed >= 10, $"only {killed} ADDs were interrupted; the test did not exercise crashes");

        // Some kills must have landed mid-ADD, leaving debris for GC; otherwise nothing was tested.
        var debris = (node.OurVeths().Count - valid.Count) + (node.ClaimedAddresses().Count - (2 * valid.Count));
        output.WriteLine($"{killed} ADDs killed ({debrisKills} left debris), {valid.Count} completed, final window {window:F0} µs; before GC: {node.OurVeths().Count} veths, {node.ClaimedAddresses().Count} claims");
        Assert.True(debris > 0, $"no killed ADD left a veth or an address behind ({killed} killed, final window {window:F0} µs)");

        var attachments = JsonSerializer.Serialize(valid.Select(v => new Dictionary<string, string> { ["containerID"] = v.Id, ["ifname"] = "eth0" }));
        var gc = node.Invoke("GC", "unused", null, conf: node.WithMember("cni.dev/valid-attachments", attachments));
        Assert.True(gc.ExitCode == 0, gc.ToString());

        var expectedVeths = valid.Select(v => HostVeth(v.Id)).Order().ToList();
        Assert.Equal(expectedVeths, node.OurVeths().Order().ToList());
        var expectedClaims = valid.SelectMany(v => new[] { v.Address4.Split('/')[0], v.Address6.Split('/')[0] }).Order().ToList();
        Assert.Equal(expectedClaims.Count, expectedClaims.Distinct().Count());
        Assert.Equal(expectedClaims, node.ClaimedAddresses().Order().ToList());

        // The store still hands out fresh addresses, none held by a surviving pod.
        var fresh = node.NewPod();
        var result = node.Add("pcni-crash-fresh", fresh);
        Assert.DoesNotContain(result.GetProperty("ips")[0].GetProperty("address").GetString(), valid.Select(v => v.Address4));
        node.Del("pcni-crash-fresh", fresh.Path);

        foreach (var v in valid)
        {
            node.Del(v.Id, null);
        }

        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    [Fact]
    public void KilledDels_ThenDelAgain_LeavesNothing()
    {
        using var node = new Node();
        var random = new Random(1125);
        for (var round = 0; round < 15; round++)
        {
            var pod = node.NewPod();
            var id = $"pcni-crashdel-{round}";
            node.Add(id, pod);
            var start = new ProcessStartInfo("nsenter", [$"--net={node.Ns.Path}", Plugin.Path])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            start.Environment["CNI_COMMAND"] = "DEL";
            start.Environment["CNI_CONTAINERID"] = id;
            start.Environment["CNI_NETNS"] = pod.Path;
            start.Environment["CNI_IFNAME"] = "eth0";
            using var p = Process.Start(start)!;
            p.StandardInput.Write(node.Conf);
            p.StandardInput.Close();
            Thread.Sleep(random.Next(8));
            try
            {
                p.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            p.WaitForExit();
            node.Del(id, pod.Path);
        }

        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
    }

    private static string HostVeth(string containerId) => Patronus.Cni.Plumbing.HostVethName.For(containerId, "eth0");
}
