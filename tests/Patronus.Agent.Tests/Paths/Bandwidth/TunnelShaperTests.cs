using System.Net;
using Patronus.Agent.Paths.Bandwidth;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Paths.Bandwidth;

/// <summary>
/// The shaper against a real kernel, without traffic: one throwaway namespace, one veth, the tree read back with
/// tc (independently of our netlink code) after each apply.
/// </summary>
public sealed class TunnelShaperTests : IDisposable
{
    private readonly string _name = $"shp-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly NetNs _ns;
    private readonly TunnelShaper _shaper;

    private static readonly BandwidthGuarantee Alone = new(IPAddress.Parse("10.63.0.2"), 10);
    private static readonly BandwidthGuarantee DualStack = new([IPAddress.Parse("10.63.0.3"), IPAddress.Parse("fd00:63::3")], 5);

    public TunnelShaperTests()
    {
        NetworkNamespace.Add(_name);
        try
        {
            NetworkNamespace.Ip(_name, "link add name t0 type veth peer name t1", "link set t0 up", "link set t1 up");
            _ns = NetNs.OpenPath(NetworkNamespace.PathOf(_name));
            _shaper = TunnelShaper.OpenIn(_ns);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _shaper?.Dispose();
        _ns?.Dispose();
        NetworkNamespace.TryDelete(_name);
    }

    private string Tc(string arguments)
    {
        var result = Command.Run("tc", ["-n", _name, .. arguments.Split(' ')]);
        Assert.True(result.ExitCode == 0, $"tc {arguments}: {result.Stderr}");
        return result.Stdout;
    }

    /// <summary>The tree as tc prints it, statistics left out (they move with any traffic, even IPv6 router solicitations).</summary>
    private string Tree() => Tc("qdisc show dev t0") + Tc("class show dev t0") + Tc("filter show dev t0");

    [Fact]
    public void FirstApply_BuildsTheTree_SecondChangesNothing()
    {
        var changes = _shaper.Apply("t0", 50, [Alone, DualStack]);

        // Qdisc, parent, default, two pod classes, three leaf queues, three filters (one per address).
        Assert.Equal(11, changes);
        var qdiscs = Tc("qdisc show dev t0");
        Assert.Contains("qdisc htb 1: root", qdiscs);
        Assert.Contains("default 0x2", qdiscs);
        Assert.Contains("qdisc bfifo 2: parent 1:2 limit 281250b", qdiscs); // 50 ms at 45 Mbit/s
        Assert.Contains("qdisc bfifo 10: parent 1:10 limit 281250b", qdiscs);
        Assert.Contains("qdisc bfifo 11: parent 1:11 limit 281250b", qdiscs);
        var classes = Tc("class show dev t0");
        Assert.Contains("class htb 1:1 root rate 45Mbit ceil 45Mbit", classes);
        Assert.Contains("class htb 1:2 parent 1:1 leaf 2: prio 0 rate 2250Kbit ceil 45Mbit", classes);
        Assert.Contains("class htb 1:10 parent 1:1 leaf 10: prio 0 rate 11Mbit ceil 45Mbit", classes);
        Assert.Contains("class htb 1:11 parent 1:1 leaf 11: prio 0 rate 5500Kbit ceil 45Mbit", classes);
        var filters = Tc("filter show dev t0");
        Assert.Contains("filter parent 1: protocol ip pref 16 u32", filters);
        Assert.Contains("flowid 1:10", filters);
        Assert.Contains("match 0a3f0002/ffffffff at 12", filters);
        Assert.Contains("filter parent 1: protocol ip pref 17 u32", filters);
        Assert.Contains("match 0a3f0003/ffffffff at 12", filters);
        Assert.Contains("filter parent 1: protocol ipv6 pref 32785 u32", filters); // 17 | 0x8000: one protocol per priority
        Assert.Contains("match fd000063/ffffffff at 8", filters);
        Assert.Contains("match 00000003/ffffffff at 20", filters);

        var before = Tree();
        Assert.Equal(0, _shaper.Apply("t0", 50, [DualStack, Alone]));
        Assert.Equal(before, Tree());
    }

    [Fact]
    public void PodLeaving_RemovesOnlyItsClassAndFilter_OthersKeepTheirs()
    {
        _shaper.Apply("t0", 50, [Alone, DualStack]);

        Assert.Equal(2, _shaper.Apply("t0", 50, [DualStack])); // 1:10's filter, then 1:10

        var classes = Tc("class show dev t0");
        Assert.DoesNotContain("1:10 ", classes);
        Assert.Contains("class htb 1:11 parent 1:1 leaf 11: prio 0 rate 5500Kbit ceil 45Mbit", classes);
        var filters = Tc("filter show dev t0");
        Assert.DoesNotContain("pref 16 ", filters);
        Assert.DoesNotContain("0a3f0002", filters);
        Assert.Contains("protocol ip pref 17 u32", filters);
        Assert.Contains("protocol ipv6 pref 32785 u32", filters);

        // A new pod takes the freed minor; the dual-stack one stays where it is.
        Assert.Equal(3, _shaper.Apply("t0", 50, [DualStack, new BandwidthGuarantee(IPAddress.Parse("10.63.0.9"), 1)]));
        classes = Tc("class show dev t0");
        Assert.Contains("class htb 1:10 parent 1:1 leaf 10: prio 0 rate 1100Kbit ceil 45Mbit", classes);
        Assert.Contains("class htb 1:11 parent 1:1 leaf 11: prio 0 rate 5500Kbit", classes);
        Assert.Contains("match 0a3f0009/ffffffff at 12", Tc("filter show dev t0"));
    }

    [Fact]
    public void CapacityChange_RewritesTheRatesInPlace()
    {
        _shaper.Apply("t0", 50, [Alone]);

        Assert.Equal(5, _shaper.Apply("t0", 100, [Alone])); // parent, default and the pod's ceiling, and both leaves' limits

        var classes = Tc("class show dev t0");
        Assert.Contains("class htb 1:1 root rate 90Mbit ceil 90Mbit", classes);
        Assert.Contains("class htb 1:2 parent 1:1 leaf 2: prio 0 rate 4500Kbit ceil 90Mbit", classes);
        Assert.Contains("class htb 1:10 parent 1:1 leaf 10: prio 0 rate 11Mbit ceil 90Mbit", classes);
        Assert.Contains("flowid 1:10", Tc("filter show dev t0"));
        Assert.Contains("qdisc bfifo 10: parent 1:10 limit 562500b", Tc("qdisc show dev t0"));
    }

    [Fact]
    public void GuaranteesOverCapacity_ScaledInTheKernelToo()
    {
        Assert.Equal(7, _shaper.Apply("t0", 10, [new BandwidthGuarantee(IPAddress.Parse("10.63.0.2"), 20)]));
        // 9 Mbit/s usable, 0.45 for the default class: the pod gets the other 8.55.
        Assert.Contains("class htb 1:10 parent 1:1 leaf 10: prio 0 rate 8550Kbit ceil 9Mbit", Tc("class show dev t0"));
    }

    [Fact]
    public void NoGuarantees_RemovesTheTree_AndRemoveIsIdempotent()
    {
        Assert.Equal(0, _shaper.Apply("t0", 50, Array.Empty<BandwidthGuarantee>()));
        _shaper.Apply("t0", 50, [Alone, DualStack]);

        Assert.Equal(1, _shaper.Apply("t0", 50, Array.Empty<BandwidthGuarantee>()));
        Assert.DoesNotContain("htb", Tc("qdisc show dev t0"));
        Assert.Empty(Tc("class show dev t0"));
        Assert.Empty(Tc("filter show dev t0"));

        _shaper.Apply("t0", 50, [Alone]);
        Assert.True(_shaper.Remove("t0"));
        Assert.DoesNotContain("htb", Tc("qdisc show dev t0"));
        Assert.False(_shaper.Remove("t0"));
        Assert.False(_shaper.Remove("no-such-device"));
    }

    [Fact]
    public void ForeignRootQdisc_IsReplaced_AndForeignRulesOnOurQdiscRemoved()
    {
        Tc("qdisc add dev t0 root handle 1: tbf rate 1mbit burst 10kb latency 50ms");
        Assert.Equal(7 + 1, _shaper.Apply("t0", 50, [Alone]));
        Assert.Contains("qdisc htb 1: root", Tc("qdisc show dev t0"));

        // Someone else's class and filter under our qdisc, and our pod's filter pointed elsewhere.
        Tc("class add dev t0 parent 1:1 classid 1:99 htb rate 1mbit");
        Tc("filter add dev t0 parent 1: protocol ip prio 99 u32 match ip dst 10.0.0.1/32 flowid 1:99");
        Tc("filter del dev t0 parent 1: protocol ip prio 16");
        Tc("filter add dev t0 parent 1: protocol ip prio 16 u32 match ip src 10.63.0.2/32 flowid 1:2");

        Assert.Equal(4, _shaper.Apply("t0", 50, [Alone])); // prio 99 out, prio 16 rewritten (out, in), 1:99 out
        Assert.DoesNotContain("1:99", Tc("class show dev t0"));
        var filters = Tc("filter show dev t0");
        Assert.DoesNotContain("pref 99", filters);
        Assert.Contains("flowid 1:10", filters);
        Assert.Equal(0, _shaper.Apply("t0", 50, [Alone]));
    }

    [Fact]
    public void HtbWithAnotherDefaultClass_IsRebuilt()
    {
        Tc("qdisc add dev t0 root handle 1: htb default 0x30");

        Assert.Equal(1 + 7, _shaper.Apply("t0", 50, [Alone]));

        Assert.Contains("default 0x2", Tc("qdisc show dev t0"));
        Assert.Equal(0, _shaper.Apply("t0", 50, [Alone]));
    }

    [Fact]
    public void LeafQueueOfAnotherKindOrLimit_IsReplaced()
    {
        _shaper.Apply("t0", 50, [Alone]);
        Tc("qdisc del dev t0 parent 1:10 handle 10:");
        Tc("qdisc add dev t0 parent 1:10 handle 10: pfifo limit 5");
        Tc("qdisc replace dev t0 parent 1:2 handle 2: bfifo limit 1000");

        Assert.Equal(3, _shaper.Apply("t0", 50, [Alone])); // the pfifo out, a bfifo in; the default's limit changed

        var qdiscs = Tc("qdisc show dev t0");
        Assert.Contains("qdisc bfifo 10: parent 1:10 limit 281250b", qdiscs);
        Assert.Contains("qdisc bfifo 2: parent 1:2 limit 281250b", qdiscs);
        Assert.Equal(0, _shaper.Apply("t0", 50, [Alone]));
    }

    [Fact]
    public void ScaledGuarantees_WarnedOnce_UntilTheWarningChanges()
    {
        var log = new RecordingLogger();
        using var netlink = RtNetlink.OpenIn(_ns);
        var shaper = new TunnelShaper(netlink, log);
        var tooMuch = new BandwidthGuarantee(IPAddress.Parse("10.63.0.2"), 20);

        shaper.Apply("t0", 10, [tooMuch]);
        shaper.Apply("t0", 10, [tooMuch]);
        Assert.Single(log.Warnings);
        Assert.Contains("Bandwidth guarantees on t0 do not fit: guaranteed minimums add up to 20 Mbit/s", log.Warnings[0]);

        shaper.Apply("t0", 100, [tooMuch]); // fits now: nothing to say
        shaper.Apply("t0", 10, [tooMuch]);  // and it does not again: said again
        Assert.Equal(2, log.Warnings.Count);
    }

    private sealed class RecordingLogger : Microsoft.Extensions.Logging.ILogger<TunnelShaper>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == Microsoft.Extensions.Logging.LogLevel.Warning)
                Warnings.Add(formatter(state, exception));
        }
    }

    [Fact]
    public void MissingDevice_RefusedNamingIt()
    {
        var error = Assert.Throws<ArgumentException>(() => _shaper.Apply("nope0", 50, [Alone]));
        Assert.Equal("device", error.ParamName);
        Assert.Contains("\"nope0\"", error.Message);
    }

    [Fact]
    public void TupleOverload_OneGuaranteePerAddress()
    {
        Assert.Equal(10, _shaper.Apply("t0", 50, new (IPAddress, double)[] { (IPAddress.Parse("10.63.0.2"), 10.0), (IPAddress.Parse("fd00:63::2"), 10.0) }));
        var classes = Tc("class show dev t0");
        Assert.Contains("class htb 1:10 parent 1:1 leaf 10: prio 0 rate 11Mbit", classes);
        Assert.Contains("class htb 1:11 parent 1:1 leaf 11: prio 0 rate 11Mbit", classes);
    }
}
