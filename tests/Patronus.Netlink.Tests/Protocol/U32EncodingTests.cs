using System.Net.Sockets;
using Patronus.Netlink.TrafficControl;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>u32 source-address filters into an HTB class, checked against what tc sends (strace -e sendmsg -xx).</summary>
public sealed class U32EncodingTests
{
    [Fact]
    public void IPv4Source_SameBytesAsTc()
    {
        // tc filter add dev a0 parent 1: protocol ip prio 1 u32 match ip src 10.60.0.2/32 flowid 1:10
        // (a0 = index 3), sequence number aside.
        var expected = """
            5c000000 2c00 0506 01000000 00000000
            00 00 0000 03000000 00000000 00000100 08000100
            0800 0100 75333200
            3000 0200
              0800 0100 10000100
              2400 0500
                01 00 01 00 0000 0000 0000 0000 00000000
                ffffffff 0a3c0002 0c000000 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) =>
            U32Messages.NewSourceFilter(ref w, 1, 3, TcHandle.Make(1, 0), 1, IpPrefix.Parse("10.60.0.2/32"), TcHandle.Make(1, 0x10))));
    }

    [Fact]
    public void IPv6Source_SameBytesAsTc_OneKeyPerWord()
    {
        // tc filter add dev a0 parent 1: protocol ipv6 prio 2 u32 match ip6 src fd00::2/128 flowid 1:10
        var expected = """
            8c000000 2c00 0506 01000000 00000000
            00 00 0000 03000000 00000000 00000100 86dd0200
            0800 0100 75333200
            6000 0200
              0800 0100 10000100
              5400 0500
                01 00 04 00 0000 0000 0000 0000 00000000
                ffffffff fd000000 08000000 00000000
                ffffffff 00000000 0c000000 00000000
                ffffffff 00000000 10000000 00000000
                ffffffff 00000002 14000000 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) =>
            U32Messages.NewSourceFilter(ref w, 1, 3, TcHandle.Make(1, 0), 2, IpPrefix.Parse("fd00::2/128"), TcHandle.Make(1, 0x10))));
    }

    [Fact]
    public void ShorterPrefixes_MaskTheLastWord_AndSkipWordsNotCovered()
    {
        var v4 = Encode((ref w) => U32Messages.NewSourceFilter(ref w, 1, 3, TcHandle.Make(1, 0), 1, IpPrefix.Parse("10.60.0.0/20"), TcHandle.Make(1, 1)));
        Assert.EndsWith("01000100" + "0000000000000000" + "00000000" + "fffff000" + "0a3c0000" + "0c000000" + "00000000", v4);
        var v6 = Encode((ref w) => U32Messages.NewSourceFilter(ref w, 1, 3, TcHandle.Make(1, 0), 1, IpPrefix.Parse("fd00:af4:0:1::/64"), TcHandle.Make(1, 1)));
        Assert.EndsWith("01000200" + "0000000000000000" + "00000000" + "ffffffff" + "fd000af4" + "08000000" + "00000000" + "ffffffff" + "00000001" + "0c000000" + "00000000", v6);
    }

    [Fact]
    public void DeleteFilters_ByPriorityAndProtocol()
    {
        // tc filter del dev a0 parent 1: protocol ip prio 7
        var expected = """
            24000000 2d00 0500 01000000 00000000
            00 00 0000 03000000 00000000 00000100 08000700
            """;
        Assert.Equal(Normalize(expected), Encode((ref w) => U32Messages.DeleteFilters(ref w, 1, 3, TcHandle.Make(1, 0), 7, AddressFamily.InterNetwork)));
    }
}
