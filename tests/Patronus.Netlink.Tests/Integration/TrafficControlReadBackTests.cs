using System.Net.Sockets;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>What a level-triggered shaper reads back from the kernel: u32 source filters decoded, HTB's default class.</summary>
public sealed class TrafficControlReadBackTests : IDisposable
{
    private readonly TestNamespace _ns = new();
    private readonly int _link;

    public TrafficControlReadBackTests()
    {
        try
        {
            _ns.Ip("link add name rb0 type veth peer name rb1");
            _link = _ns.Netlink.LinkByName("rb0")!.Index;
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void U32SourceFilters_ListedWithTheirClassAndSource_TcsOwnToo()
    {
        _ns.Netlink.QdiscAddHtb(_link, 1, defaultMinor: 0x20);
        _ns.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x10), RateBytesPerSec = 125_000 });
        _ns.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 16, IpPrefix.Parse("10.61.0.2/32"), TcHandle.Make(1, 0x10));
        _ns.Netlink.FilterAddU32Source(_link, TcHandle.Make(1, 0), 0x8010, IpPrefix.Parse("fd00:af4:0:1::/64"), TcHandle.Make(1, 0x10));
        _ns.Exec("tc filter add dev rb0 parent 1: protocol ip prio 99 u32 match ip src 10.9.0.0/16 flowid 1:10");
        _ns.Exec("tc filter add dev rb0 parent 1: protocol ip prio 98 u32 match ip dst 10.9.0.1/32 flowid 1:10");

        var filters = _ns.Netlink.FilterListU32Sources(_link, TcHandle.Make(1, 0));

        var rules = filters.Where(f => f.ClassId is not null).OrderBy(f => f.Priority).ToList();
        Assert.Equal(
            [
                (16, (ushort)0x0800, "10.61.0.2/32"),
                (98, (ushort)0x0800, null),
                (99, (ushort)0x0800, "10.9.0.0/16"),
                (0x8010, (ushort)0x86DD, "fd00:af4:0:1::/64"),
            ],
            rules.Select(f => ((int)f.Priority, f.Protocol, f.Source?.ToString())));
        Assert.All(rules, f => Assert.Equal(TcHandle.Make(1, 0x10), f.ClassId));
        Assert.All(filters, f => Assert.Equal((_link, TcHandle.Make(1, 0)), (f.LinkIndex, f.Parent)));
        Assert.True(_ns.Netlink.FilterDelU32(_link, TcHandle.Make(1, 0), 0x8010, AddressFamily.InterNetworkV6));
        Assert.DoesNotContain(_ns.Netlink.FilterListU32Sources(_link, TcHandle.Make(1, 0)), f => f.Priority == 0x8010);
    }

    [Fact]
    public void HtbQdisc_ListedWithItsDefaultClass_OtherQdiscsNot()
    {
        Assert.Empty(_ns.Netlink.QdiscListHtb(_link));
        _ns.Netlink.QdiscAddHtb(_link, 1, defaultMinor: 0x2a);
        _ns.Exec("tc qdisc add dev rb1 root handle 5: htb default 3");

        Assert.Equal([new HtbQdiscInfo(_link, TcHandle.Make(1, 0), TcHandle.Root, 0x2a)], _ns.Netlink.QdiscListHtb(_link));
    }
}
