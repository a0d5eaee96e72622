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
        // Intent and claim for each of two range sets, then two cursors.
        Assert.Equal(6, steps);
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
        // Claim and intent of each of two range sets.
        Assert.Equal(4, steps);
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
            // Intents without their claims, as crashed ADDs leave them, and entries this store did not write.
            CrashAt(ipam, 1, () => ipam.Allocate("intent-only", "eth0", null));
            CrashAt(ipam, 3, () => ipam.Allocate("half", "eth0", null));
            File.WriteAllText(Path.Combine(net.Config.NetworkDirectory, "addresses", "10.30.0.9"), "");
            File.WriteAllText(Path.Combine(net.Config.NetworkDirectory, "attachments", "junk#0"), "");
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
        // What a power loss can do: the claims survive, the intents do not.
        foreach (var intent in Directory.GetFileSystemEntries(Path.Combine(net.Config.NetworkDirectory, "attachments")))
            File.Delete(intent);
        Assert.Null(ipam.Find("c1", "eth0"));

        Assert.Equal(new Patronus.Cni.Ipam.GcReport(0, 2), ipam.Collect(new HashSet<(string, string)> { ("c1", "eth0") }));
        Assert.Equal(lease.Addresses, ipam.Find("c1", "eth0")!.Addresses);
    }

    [Fact]
    public void Gc_EntriesTheStoreDidNotWrite_AreRemovedAndTheirAddressesFreed()
    {
        using var net = new IpamTestNetwork("""{"subnet":"10.30.0.0/29"}""");
        var ipam = net.NewIpam();
        ipam.Allocate("c1", "eth0", null);
        var addresses = Path.Combine(net.Config.NetworkDirectory, "addresses");
        File.WriteAllText(Path.Combine(addresses, "10.30.0.3"), "c2\neth0\n");           // a host-local style file
        File.CreateSymbolicLink(Path.Combine(addresses, "10.30.0.4"), "10.30.0.5\nc3\neth0\n"); // names another address
        File.CreateSymbolicLink(Path.Combine(addresses, "10.30.0.05"), "10.30.0.5\nc3\neth0\n"); // not a canonical name
        Assert.Equal(4, ipam.Allocate("c4", "eth0", null).Addresses[0].Address.GetAddressBytes()[3] - 1); // .3 and .4 are taken

        var report = ipam.Collect(new HashSet<(string, string)> { ("c1", "eth0"), ("c4", "eth0") });

        Assert.Equal(new Patronus.Cni.Ipam.GcReport(0, 3), report);
        Assert.Equal(["10.30.0.2", "10.30.0.5"], net.Claims().Keys.Select(a => a.ToString()).Order());
        Assert.Equal("10.30.0.6", ipam.Allocate("c5", "eth0", null).Addresses[0].Address.ToString());
        Assert.Equal("10.30.0.3", ipam.Allocate("c6", "eth0", null).Addresses[0].Address.ToString());
    }

    private static List<IPAddress> VictimClaims(IpamTestNetwork net) =>
        net.Claims().Where(c => c.Value.Item1 == "victim").Select(c => c.Key).ToList();
}
