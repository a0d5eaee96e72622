using System.Diagnostics;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

[Collection("kernel")]
public class ConcurrencyTests
{
    private const int Pods = 64;

    [Fact]
    public void SixtyFourAddsAtOnce_ThenSixtyFourDels_DistinctAddressesAndNothingLeft()
    {
        using var node = new Node();
        var pods = Enumerable.Range(0, Pods).Select(_ => node.NewPod()).ToList();

        var adds = Enumerable.Range(0, Pods)
            .Select(i => Task.Factory.StartNew(() => node.Invoke("ADD", $"pcni-conc-{i}", pods[i].Path), TaskCreationOptions.LongRunning))
            .ToArray();
        Task.WaitAll(adds);
        foreach (var add in adds)
        {
            Assert.True(add.Result.ExitCode == 0, add.Result.ToString());
        }

        var v4 = adds.Select(a => a.Result.Json.GetProperty("ips")[0].GetProperty("address").GetString()).ToList();
        var v6 = adds.Select(a => a.Result.Json.GetProperty("ips")[1].GetProperty("address").GetString()).ToList();
        Assert.Equal(Pods, v4.Distinct().Count());
        Assert.Equal(Pods, v6.Distinct().Count());
        Assert.Equal(Pods, node.OurVeths().Count);
        Assert.Equal(2 * Pods, node.ClaimedAddresses().Count);
        Assert.True(Shell.Ping(pods[0].Name, v4[Pods - 1]!.Split('/')[0]));

        var dels = Enumerable.Range(0, Pods)
            .Select(i => Task.Factory.StartNew(() => node.Invoke("DEL", $"pcni-conc-{i}", pods[i].Path), TaskCreationOptions.LongRunning))
            .ToArray();
        Task.WaitAll(dels);
        foreach (var del in dels)
        {
            Assert.True(del.Result.ExitCode == 0, del.Result.ToString());
        }

        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.All(pods, p => Assert.DoesNotContain(" eth0@", p.Links()));
    }
}
