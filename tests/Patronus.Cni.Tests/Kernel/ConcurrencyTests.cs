using System.Diagnostics;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

[Collection("kernel")]
public class ConcurrencyTests
{
    private const int Pods = 64;

    [Fact]
    public async Task SixtyFourAddsAtOnce_ThenSixtyFourDels_DistinctAddressesAndNothingLeft()
    {
        using var node = new Node();
        var pods = Enumerable.Range(0, Pods).Select(_ => node.NewPod()).ToList();

        var adds = Enumerable.Range(0, Pods)
            .Select(i => Task.Factory.StartNew(() => node.Invoke("ADD", $"pcni-conc-{i}", pods[i].Path), TaskCreationOptions.LongRunning))
            .ToArray();
        var added = await Task.WhenAll(adds);
        foreach (var add in added)
        {
            Assert.True(add.ExitCode == 0, add.ToString());
        }

        var v4 = added.Select(a => a.Json.GetProperty("ips")[0].GetProperty("address").GetString()).ToList();
        var v6 = added.Select(a => a.Json.GetProperty("ips")[1].GetProperty("address").GetString()).ToList();
        Assert.Equal(Pods, v4.Distinct().Count());
        Assert.Equal(Pods, v6.Distinct().Count());
        Assert.Equal(Pods, node.OurVeths().Count);
        Assert.Equal(2 * Pods, node.ClaimedAddresses().Count);
        Assert.True(Shell.Ping(pods[0].Name, v4[Pods - 1]!.Split('/')[0]));

        var dels = Enumerable.Range(0, Pods)
            .Select(i => Task.Factory.StartNew(() => node.Invoke("DEL", $"pcni-conc-{i}", pods[i].Path), TaskCreationOptions.LongRunning))
            .ToArray();
        foreach (var del in await Task.WhenAll(dels))
        {
            Assert.True(del.ExitCode == 0, del.ToString());
        }

        Assert.Empty(node.OurVeths());
        Assert.Empty(node.ClaimedAddresses());
        Assert.All(pods, p => Assert.DoesNotContain(" eth0@", p.Links()));
    }
}
