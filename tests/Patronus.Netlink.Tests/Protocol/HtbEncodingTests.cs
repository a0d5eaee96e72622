using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>HTB qdisc and class messages (linux/pkt_sched.h), checked against what tc sends.</summary>
public sealed class HtbEncodingTests
{
    [Fact]
    public void NewHtbQdisc_SameBytesAsTc()
    {
        // tc qdisc add dev a0 root handle 1: htb default 30 (a0 = index 3), sequence number aside.
        var expected = """
            48000000 2400 0506 01000000 00000000
            00 00 0000 03000000 00000100 ffffffff 00000000
            0800 0100 68746200
            1c00 0200 | 1800 0200 | 03000000 0a000000 30000000 00000000 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => TcMessages.NewHtbQdisc(ref w, 1, 3, TcHandle.Make(1, 0), TcHandle.Root, 0x30)));
    }

    [Fact]
    public void ReplaceHtbClass_RateCeilBuffers_WithoutRateTables()
    {
        // tc class add dev a0 parent 1: classid 1:10 htb rate 10mbit ceil 50mbit sends the same tc_htb_opt
        // rates (1250000 and 6250000 bytes/s) and buckets (20000 and 4000 ticks: 1600 bytes at each rate),
        // plus cell_log 3 / cell_align -1 and two 1 KiB rate tables that only matter without a link layer,
        // and NLM_F_EXCL: this call creates or changes.
        var expected = """
            60000000 2800 0504 02000000 00000000
            00 00 0000 03000000 0a000100 00000100 00000000
            0800 0100 68746200
            3400 0200
              3000 0100
                00 01 0000 0000 0000 d0121300
                00 01 0000 0000 0000 105e5f00
                204e0000 a00f0000 00000000 00000000 02000000
            """;

        var parameters = new HtbClassParameters(1_250_000, 6_250_000, 20000, 4000, 2);
        Assert.Equal(Normalize(expected), Encode((ref w) => TcMessages.ReplaceHtbClass(ref w, 2, 3, TcHandle.Make(1, 10), TcHandle.Make(1, 0), parameters)));
    }

    [Fact]
    public void ReplaceHtbClass_RatesPast32Bits_SaturateAndAdd64BitAttributes_ParseBack()
    {
        var parameters = new HtbClassParameters(5_000_000_000, 6_000_000_000, 100, 120, 0);
        var bytes = Hex(Encode((ref w) => TcMessages.ReplaceHtbClass(ref w, 3, 3, TcHandle.Make(1, 1), TcHandle.Make(1, 0), parameters)));

        var hex = Convert.ToHexString(bytes).ToLowerInvariant();
        Assert.Contains("0c000600" + "00f2052a01000000", hex);
        Assert.Contains("0c000700" + "00bc a065 01000000".Replace(" ", ""), hex);
        Assert.Contains("00010000" + "00000000" + "ffffffff", hex);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        var parsed = TcMessages.ParseClass(message);
        Assert.Equal(new TrafficClass(3, TcHandle.Make(1, 1), TcHandle.Make(1, 0), "htb", parameters), parsed);
    }

    [Theory]
    [InlineData(0x10000, 1_000UL, null, "ClassId")]
    [InlineData(0x10010, 0UL, null, "RateBytesPerSec")]
    [InlineData(0x10010, 1_000UL, 999UL, "CeilBytesPerSec")]
    public void HtbClass_BadInput_NamesTheField(uint classId, ulong rate, ulong? ceil, string field)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new HtbClass { ClassId = classId, RateBytesPerSec = rate, CeilBytesPerSec = ceil }.Validate());
        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void HtbClass_DefaultBurst_IsTcsOrOneMillisecond()
    {
        Assert.Equal(1600u, HtbClass.DefaultBurst(1_250_000));
        Assert.Equal(125_000u, HtbClass.DefaultBurst(125_000_000));
    }
}
