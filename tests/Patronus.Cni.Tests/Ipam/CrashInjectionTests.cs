using System.Net;
using Patronus.Cni.Ipam;

namespace Patronus.Cni.Tests.Ipam;

/// <summary>
/// Stops each operation before every change it makes on disk, as kill -9 would (the exception unwinds without
/// any product code catching it, and closing the descriptors drops the lock as the kernel would), then checks
/// that what the runtime does next (retry ADD, DEL, or GC) leaves the store exact: no leak, no double owner.
/// </summary>
public class CrashInjectionTests
{
    private const string DualStack = """{"ranges":[[{"subnet":"10.30.0.0/28"}],[{"subnet":"fd00:30::/124"}]]}""";

    private static readonly (string, string)[] Others = [("other1", "eth0"), ("other2", "eth0")];

    private sealed class SimulatedCrash : Exception;

    public enum NextStep { RetryAddThenDel, Del, GcWithoutIt, GcWithIt }

    /// <summary>Runs <paramref name="operation"/> stopping before change number <paramref name="step"/>; false if it finished first.</summary>
    private static bool CrashAt(PatronusIpam ipam, int step, Action operation)
    {
        var changes = 0;
        ipam.Store.BeforeChange = name =>
        {
            if (changes++ == step)
                throw new SimulatedCrash();
        };
        try
        {
            operation();
            return false;
        }
        catch (SimulatedCrash)
        {
            return true;
        }
        finally
        {
            ipam.Store.BeforeChange = null;
        }
    }

    private static Dictionary<IPAddress, (string, string)> SetUpOthers(IpamTestNetwork net)
    {
        var ipam = net.NewIpam();
        ipam.Allocate("gone", "eth0", null);
        foreach (var (id, ifName) in Others)
            ipam.Allocate(id, ifName, null);
        ipam.Release("gone", "eth0");
        return net.Claims();
    }

    private static void AssertOnlyOthersRemain(IpamTestNetwork net, Dictionary<IPAddress, (string, string)> others)
    {
        Assert.Equal(others.OrderBy(c => c.Key.ToString()), net.Claims().OrderBy(c => c.Key.ToString()));
        Assert.Equal(Others.Length, net.IndexFiles());
        foreach (var (id, ifName) in Others)
            Assert.NotNull(net.NewIpam().Find(id, ifName));
    }

    [Theory]
    [InlineData(NextStep.RetryAddThenDel)]
    [InlineData(NextStep.Del)]
    [InlineData(NextStep.GcWithoutIt)]
    [InlineData(NextStep.GcWithIt)]
    public void Add_StoppedBeforeAnyChange_NextStepLeavesExactState(NextStep next)
    {
        var steps = 0;
        for (var step = 0; ; step++)
        {
            using var net = new IpamTestNetwork(DualStack);
            var others = SetUpOthers(net);
            var ipam = net.NewIpam();
            if (!CrashAt(ipam, step, () => ipam.Allocate("victim", "eth0", null)))
                break;
            steps++;

            // An interrupted ADD looks complete only once both claims are written (a cursor was still to come).
            if (ipam.Find("victim", "eth0") is { } found)
                Assert.Equal(found.Addresses.Select(a => a.Address.ToString()).Order(), VictimClaims(net).Select(a => a.ToString()).Order());
            else
                Assert.True(VictimClaims(net).Count < 2);
            var after = net.NewIpam();
            switch (next)
            {
                case NextStep.RetryAddThenDel:
                    var lease = after.Allocate("victim", "eth0", null);
                    Assert.Equal(2, lease.Addresses.Count);
                    Assert.Equal(lease.Addresses.Select(a => a.Address.ToString()).Order(), VictimClaims(net).Select(a => a.ToString()).Order());
                    Assert.DoesNotContain(lease.Addresses, a => others.ContainsKey(a.Address));
                    after.Release("victim", "eth0");
                    break;
                case NextStep.Del:
                    after.Release("victim", "eth0");
                    break;
                case NextStep.GcWithoutIt:
                    after.Collect(Others.ToHashSet());
                    break;
                case NextStep.GcWithIt:
                    after.Collect(Others.Append(("victim", "eth0")).ToHashSet());
                    var completed = after.Allocate("victim", "eth0", null);
                    Assert.Equal(completed.Addresses.Select(a => a.Address.ToString()).Order(), VictimClaims(net).Select(a => a.ToString()).Order());
                    Assert.Equal(completed.Addresses, after.Find("victim", "eth0")!.Addresses);
                    after.Release("victim", "eth0");
                    break;
            }
            AssertOnlyOthersRemain(net, others);
        }
        // Index append, then create and write for each of two claims, then two cursors.
        Assert.Equal(7, steps);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Del_StoppedBeforeAnyChange_RetryOrGcFinishesIt(bool gc)
    {
        var steps = 0;
        for (var step = 0; ; step++)
        {
            using var net = new IpamTestNetwork(DualStack);
            var others = SetUpOthers(net);
            var ipam = net.NewIpam();
            ipam.Allocate("victim", "eth0", null);
            if (!CrashAt(ipam, step, () => ipam.Release("victim", "eth0")))
                break;
            steps++;

            if (gc)
                net.NewIpam().Collect(Others.ToHashSet());
            else
                net.NewIpam().Release("victim", "eth0");
            AssertOnlyOthersRemain(net, others);
        }
        Assert.Equal(3, steps);
    }

    [Fact]
    public void Gc_StoppedBeforeAnyChange_NextGcFinishesIt()
    {
        var steps = 0;
        for (var step = 0; ; step++)
        {
            using var net = new IpamTestNetwork(DualStack);
            var others = SetUpOthers(net);
            var ipam = net.NewIpam();
            ipam.Allocate("stale1", "eth0", null);
            ipam.Allocate("stale2", "eth0", null);
            // A torn claim and an index that lists an address it never claimed, as crashed ADDs leave them.
            CrashAt(ipam, 2, () => ipam.Allocate("torn", "eth0", null));
            CrashAt(ipam, 1, () => ipam.Allocate("intent-only", "eth0", null));
            if (!CrashAt(ipam, step, () => ipam.Collect(Others.ToHashSet())))
                break;
            steps++;

            net.NewIpam().Collect(Others.ToHashSet());
            AssertOnlyOthersRemain(net, others);
        }
        Assert.True(steps >= 8, $"only {steps} changes");
    }

    [Fact]
    public void Gc_ValidAttachmentWhoseIndexLostAClaim_KeepsTheClaimAndRepairsTheIndex()
    {
        using var net = new IpamTestNetwork(DualStack);
        var ipam = net.NewIpam();
        var lease = ipam.Allocate("c1", "eth0", null);
        // What a power loss can do: the claims survive, the owner index does not.
        var index = Directory.GetFiles(Path.Combine(net.Config.NetworkDirectory, "attachments")).Single();
        File.Delete(index);
        Assert.Null(ipam.Find("c1", "eth0"));

        Assert.Equal(new Patronus.Cni.Ipam.GcReport(0, 1), ipam.Collect(new HashSet<(string, string)> { ("c1", "eth0") }));
        Assert.Equal(lease.Addresses, ipam.Find("c1", "eth0")!.Addresses);
    }

    [Fact]
    public void Gc_EmptiedFilesAfterPowerLoss_AreRemoved()
    {
        using var net = new IpamTestNetwork(DualStack);
        var ipam = net.NewIpam();
        ipam.Allocate("c1", "eth0", null);
        ipam.Allocate("c2", "eth0", null);
        // Delayed allocation can leave files empty after a power loss.
        foreach (var file in Directory.GetFiles(Path.Combine(net.Config.NetworkDirectory, "addresses")).Take(3))
            File.WriteAllText(file, "");
        File.WriteAllText(Directory.GetFiles(Path.Combine(net.Config.NetworkDirectory, "attachments"))[0], "");

        var report = ipam.Collect(new HashSet<(string, string)> { ("c1", "eth0"), ("c2", "eth0") });

        Assert.Equal(0, report.Released);
        Assert.True(report.Repaired >= 4);
        Assert.Single(net.Claims());
        Assert.Equal(1, net.IndexFiles());
        Assert.Equal(2, ipam.Allocate("c3", "eth0", null).Addresses.Count);
    }

    private static List<IPAddress> VictimClaims(IpamTestNetwork net) =>
        net.Claims().Where(c => c.Value.Item1 == "victim").Select(c => c.Key).ToList();
}
