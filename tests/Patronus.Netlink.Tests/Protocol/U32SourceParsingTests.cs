using System.Net.Sockets;
using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>Reading back u32 source filters from the kernel's RTM_NEWTFILTER dump (strace -e recvmsg -xx of tc filter show).</summary>
public sealed class U32SourceParsingTests
{
    private static U32SourceFilter Parse(string hex)
    {
        var reader = new NetlinkMessageReader(Hex(hex));
        Assert.True(reader.TryRead(out var message));
        return U32SourceParser.Parse(message);
    }

    [Fact]
    public void KeyNode_FromTheKernel_GivesClassAndSource()
    {
        // After `tc filter add dev va parent 1: protocol ip prio 16 u32 match ip src 10.60.0.2/32 flowid 1:10`,
        // the dump's third entry, "fh 800::800 ... flowid 1:10 match 0a3c0002/ffffffff at 12": selector, hash
        // table (800:), class id, flags (not_in_hw).
        var filter = Parse("""
            74000000 2c00 0200 27f10f6b 2d220000
            00 00 0000 03000000 00080080 00000100 08001000
            0800 0100 75333200
            0800 0b00 00000000
            4000 0200
              2400 0500 01000100 00000000 00000000 00000000 ffffffff 0a3c0002 0c000000 00000000
              0800 0200 00000080
              0800 0100 10000100
              0800 0b00 08000000
            """);

        Assert.Equal(new U32SourceFilter(3, TcHandle.Make(1, 0), 0x80000800, 16, 0x0800, TcHandle.Make(1, 0x10), IpPrefix.Parse("10.60.0.2/32")), filter);
    }

    [Fact]
    public void HeadAndHashTableEntries_HaveNoClassOrSource()
    {
        // The same dump's first two entries: the priority's head, then "fh 800: ht divisor 1".
        var head = Parse("""
            34000000 2c00 0200 27f10f6b 2d220000
            00 00 0000 03000000 00000000 00000100 08001000
            0800 0100 75333200
            0800 0b00 00000000
            """);
        var table = Parse("""
            40000000 2c00 0200 27f10f6b 2d220000
            00 00 0000 03000000 00000080 00000100 08001000
            0800 0100 75333200
            0800 0b00 00000000
            0c00 0200 0800 0400 01000000
            """);

        Assert.Equal(new U32SourceFilter(3, TcHandle.Make(1, 0), 0, 16, 0x0800, null, null), head);
        Assert.Equal(new U32SourceFilter(3, TcHandle.Make(1, 0), 0x80000000, 16, 0x0800, null, null), table);
    }

    [Theory]
    [InlineData("10.60.0.2/32")]
    [InlineData("10.60.0.0/20")]
    [InlineData("fd00::2/128")]
    [InlineData("fd00:af4:0:1::/64")]
    [InlineData("fd00:af4::/33")]
    public void WhatWeWrite_ReadsBack(string prefix)
    {
        var source = IpPrefix.Parse(prefix);
        var bytes = Hex(Encode((ref w) => U32Messages.NewSourceFilter(ref w, 1, 3, TcHandle.Make(1, 0), 7, source, TcHandle.Make(1, 0x12))));
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        var filter = U32SourceParser.Parse(message);

        Assert.Equal(new U32SourceFilter(3, TcHandle.Make(1, 0), 0, 7, source.IsIPv4 ? (ushort)0x0800 : (ushort)0x86DD, TcHandle.Make(1, 0x12), source.Network()), filter);
    }

    [Theory]
    [InlineData("01000100 00000000 00000000 00000000 ffffffff 0a3c0002 10000000 00000000", 0x0800)] // destination, not source
    [InlineData("01000100 00000000 00000000 00000000 ff00ff00 0a3c0002 0c000000 00000000", 0x0800)] // holes in the mask
    [InlineData("00000100 00000000 00000000 00000000 ffffffff 0a3c0002 0c000000 00000000", 0x0800)] // not terminal
    [InlineData("01000100 00000000 00000000 00000000 ffffffff 0a3c0002 0c000000 00000000", 0x0003)] // protocol all
    [InlineData("01000100 00000000 00000000 00000000 ffffffff 0a3c0002 0c000000 00000000", 0x86DD)] // IPv6 at an IPv4 offset
    [InlineData("01000200 00000000 00000000 00000000 ffffffff 0a3c0002 0c000000 00000000 ffffffff 0a3c0002 10000000 00000000", 0x0800)] // two words of IPv4
    [InlineData("01000100 00000000 0e000000 00000000 ffffffff 0a3c0002 0c000000 00000000", 0x0800)] // an offset in the selector
    [InlineData("01000000 00000000 00000000 00000000", 0x0800)] // no keys
    [InlineData("01000100 00000000 00000000 00000000 ffffffff", 0x0800)] // truncated
    public void OtherSelectors_AreNotSources(string selector, ushort protocol)
    {
        Assert.Null(U32SourceParser.SourceOf(Hex(selector), protocol));
    }
}

/// <summary>Reading an HTB qdisc's default class back from the kernel's RTM_NEWQDISC dump.</summary>
public sealed class HtbQdiscParsingTests
{
    [Fact]
    public void HtbQdisc_FromTheKernel_GivesItsDefaultClass()
    {
        // `tc qdisc show dev va` after `tc qdisc add dev va root handle 1: htb default 2` (va = index 3): tcmsg, kind,
        // options (TCA_HTB_INIT { version 3.17, r2q 10, defcls 2, debug 0, direct_pkts 0 }, TCA_HTB_DIRECT_QLEN
        // 1000), TCA_HW_OFFLOAD; the statistics that follow are left out.
        var bytes = Bytes.Hex("""
            58000000 2400 0200 ae1b0f6b 16690000
            00 00 0000 03000000 00000100 ffffffff 03000000
            0800 0100 68746200
            2400 0200
              1800 0200 11000300 0a000000 02000000 00000000 00000000
              0800 0500 e8030000
            0500 0c00 00000000
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        Assert.Equal(new HtbQdiscInfo(3, TcHandle.Make(1, 0), TcHandle.Root, 2), HtbQdiscParser.Parse(message));
    }

    [Fact]
    public void OtherQdisc_IsNotHtb()
    {
        var bytes = Bytes.Hex("""
            30000000 2400 0200 01000000 00000000
            00 00 0000 03000000 00000000 ffffffff 01000000
            0c00 0100 6e6f717565756500
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        Assert.Null(HtbQdiscParser.Parse(message));
    }
}
