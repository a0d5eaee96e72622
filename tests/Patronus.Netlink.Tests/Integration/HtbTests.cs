using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>HTB on a veth: classes made and changed by us, read back by us and tc, traffic classified by priority.</summary>
public sealed partial class HtbTests : IDisposable
{
    private readonly TestNamespace _ns = new();
    private readonly int _link;

    public HtbTests()
    {
        try
        {
            _ns.Netlink.LinkAddVeth("a0", "a1");
            _link = _ns.Netlink.LinkByName("a0")!.Index;
            _ns.Netlink.AddrAdd(_link, IpPrefix.Parse("10.50.0.1/24"));
            // No IPv6 on a0: its router solicitations and MLD reports would land in the default class at random.
            _ns.Exec("sysctl -qw net.ipv6.conf.a0.disable_ipv6=1");
            _ns.Netlink.LinkSetUp(_link);
            _ns.Netlink.LinkSetUp(_ns.Netlink.LinkByName("a1")!.Index);
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void HtbClasses_CreatedChangedDeleted_ReadBackByUsAndTc()
    {
        _ns.Netlink.QdiscAddHtb(_link, 1, defaultMinor: 0x20);
        _ns.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x10), RateBytesPerSec = 125_000, CeilBytesPerSec = 1_250_000, Priority = 2 });
        _ns.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x20), RateBytesPerSec = 625_000 });

        Assert.Equal("htb", Assert.Single(_ns.Netlink.QdiscList(_link), q => q.Parent == TcHandle.Root).Kind);
        var classes = _ns.Netlink.ClassList(_link).Where(c => c.Kind == "htb").ToDictionary(c => c.Handle);
        var guaranteed = classes[TcHandle.Make(1, 0x10)].Htb!.Value;
        Assert.Equal((125_000UL, 1_250_000UL, 2u), (guaranteed.RateBytesPerSec, guaranteed.CeilBytesPerSec, guaranteed.Priority));
        Assert.Equal(TcHandle.Root, classes[TcHandle.Make(1, 0x10)].Parent); // the kernel reports a top class under "root"
        Assert.Equal(625_000UL, classes[TcHandle.Make(1, 0x20)].Htb!.Value.CeilBytesPerSec);
        var tc = _ns.Exec("tc class show dev a0");
        Assert.Contains("class htb 1:10 root prio 2 rate 1Mbit ceil 10Mbit", tc);
        Assert.Contains("class htb 1:20 root prio 0 rate 5Mbit ceil 5Mbit", tc);
        Assert.Contains("default 0x20", _ns.Exec("tc qdisc show dev a0"));

        // Replace changes the class in place.
        _ns.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x10), RateBytesPerSec = 250_000, CeilBytesPerSec = 1_250_000 });
        Assert.Equal(250_000UL, Assert.Single(_ns.Netlink.ClassList(_link), c => c.Handle == TcHandle.Make(1, 0x10)).Htb!.Value.RateBytesPerSec);
        Assert.Contains("class htb 1:10 root prio 0 rate 2Mbit ceil 10Mbit", _ns.Exec("tc class show dev a0"));

        Assert.True(_ns.Netlink.ClassDel(_link, TcHandle.Make(1, 0x10)));
        Assert.False(_ns.Netlink.ClassDel(_link, TcHandle.Make(1, 0x10)));
        Assert.DoesNotContain("1:10", _ns.Exec("tc class show dev a0"));
    }

    [Fact]
    public void PacketPriority_NamingAClass_IsClassifiedIntoIt_WithoutAFilter()
    {
        _ns.Netlink.QdiscAddHtb(_link, 1, defaultMinor: 0x20);
        _ns.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x10), RateBytesPerSec = 1_250_000 });
        _ns.Netlink.ClassReplaceHtb(_link, new HtbClass { ClassId = TcHandle.Make(1, 0x20), RateBytesPerSec = 1_250_000 });
        _ns.Netlink.NeighReplace(new Neighbor { LinkIndex = _link, Address = IPAddress.Parse("10.50.0.2"), Mac = [2, 0, 0, 0, 0, 2] });

        var (prioritized, unclassified) = (SentPackets(TcHandle.Make(1, 0x10)), SentPackets(TcHandle.Make(1, 0x20)));
        Send(priority: (int)TcHandle.Make(1, 0x10), packets: 7);
        Assert.Equal((prioritized + 7, unclassified), (SentPackets(TcHandle.Make(1, 0x10)), SentPackets(TcHandle.Make(1, 0x20))));

        (prioritized, unclassified) = (SentPackets(TcHandle.Make(1, 0x10)), SentPackets(TcHandle.Make(1, 0x20)));
        Send(priority: null, packets: 3);
        Assert.Equal(prioritized, SentPackets(TcHandle.Make(1, 0x10)));
        Assert.Equal(unclassified + 3, SentPackets(TcHandle.Make(1, 0x20)));
    }

    [Fact]
    public void HtbClass_BadParent_RefusedNamingTheField()
    {
        var error = Assert.Throws<ArgumentException>(() => _ns.Netlink.ClassReplaceHtb(
            _link, new HtbClass { ClassId = TcHandle.Make(1, 0x10), Parent = TcHandle.Make(2, 1), RateBytesPerSec = 1000 }));
        Assert.Equal("Parent", error.ParamName);
    }

    /// <summary>UDP datagrams from a socket inside the namespace, with SO_PRIORITY set when given.</summary>
    private void Send(int? priority, int packets)
    {
        _ns.Ns.Run(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            if (priority is { } p)
            {
                // SOL_SOCKET = 1, SO_PRIORITY = 12: not among .NET's named options.
                socket.SetRawSocketOption(1, 12, BitConverter.GetBytes(p));
            }

            for (var i = 0; i < packets; i++)
            {
                socket.SendTo(new byte[100], new IPEndPoint(IPAddress.Parse("10.50.0.2"), 9));
            }
        });
    }

    private long SentPackets(uint classId)
    {
        var text = _ns.Exec("tc -s class show dev a0");
        var match = ClassStats().Matches(text).Single(m => m.Groups["id"].Value == TcHandle.Format(classId));
        return long.Parse(match.Groups["packets"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"class htb (?<id>\S+) .*\n\s*Sent \d+ bytes (?<packets>\d+) pkt")]
    private static partial Regex ClassStats();
}
