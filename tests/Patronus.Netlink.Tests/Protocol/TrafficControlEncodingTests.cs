using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>tc requests, derived by hand from pkt_sched.h, pkt_cls.h and tc_act/tc_mirred.h.</summary>
public sealed class TrafficControlEncodingTests
{
    [Fact]
    public void NewTbf_RootHandle1_WithQopt()
    {
        var expected = """
            58000000 2400 0506 07000000 00000000
            00 00 0000 04000000 00000100 ffffffff 00000000
            0800 0100 74626600
            2c00 0200
              2800 0100
                00 01 0000 0000 0000 48e80100
                00 00 0000 0000 0000 00000000
                752b0000 40420f00 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => TcMessages.NewTbf(ref w, 7, 4, new TokenBucketParameters(125_000, 1_000_000, 11_125))));
    }

    [Fact]
    public void NewTbf_RateAbove32Bits_SaturatesQoptAndAddsRate64()
    {
        var expected = """
            64000000 2400 0506 07000000 00000000
            00 00 0000 04000000 00000100 ffffffff 00000000
            0800 0100 74626600
            3800 0200
              2800 0100
                00 01 0000 0000 0000 ffffffff
                00 00 0000 0000 0000 00000000
                752b0000 40420f00 00000000
              0c00 0400 00f2052a01000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => TcMessages.NewTbf(ref w, 7, 4, new TokenBucketParameters(5_000_000_000, 1_000_000, 11_125))));
    }

    [Fact]
    public void NewIngress()
    {
        var expected = """
            30000000 2400 0506 08000000 00000000
            00 00 0000 04000000 0000ffff f1ffffff 00000000
            0c00 0100 696e67726573 73 00
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => TcMessages.NewIngress(ref w, 8, 4)));
    }

    [Fact]
    public void NewMirredRedirectAll_U32MatchAllWithMirredAction()
    {
        var expected = """
            94000000 2c00 0506 09000000 00000000
            00 00 0000 04000000 00000000 0000ffff 00030100
            0800 0100 75333200
            6800 0200
              2400 0500
                01 00 01 00 0000 0000 0000 0000 00000000
                00000000 00000000 00000000 00000000
              0800 0100 01000100
              3800 0700
                3400 0100
                  0b00 0100 6d6972726564 00 00
                  2400 0200
                    2000 0200
                      00000000 00000000 04000000 00000000 00000000
                      01000000 05000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => TcMessages.NewMirredRedirectAll(ref w, 9, 4, 5)));
    }

    [Fact]
    public void ParseFilter_FindsMirredTarget()
    {
        var bytes = Hex(Encode((ref w) => TcMessages.NewMirredRedirectAll(ref w, 9, 4, 5)));
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        var filter = TcMessages.ParseFilter(message);

        Assert.Equal(new FilterInfo(4, TcHandle.IngressQdisc, 0, "u32", 1, 3, 5), filter);
    }

    [Fact]
    public void ParseQdisc_ReadsTbfParameters()
    {
        var parameters = new TokenBucketParameters(5_000_000_000, 1_000_000, 11_125);
        var bytes = Hex(Encode((ref w) => TcMessages.NewTbf(ref w, 7, 4, parameters)));
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        Assert.Equal(new QdiscInfo(4, 0x10000, TcHandle.Root, "tbf", parameters), TcMessages.ParseQdisc(message));
    }
}

public sealed class TokenBucketTests
{
    [Theory]
    [InlineData("000003e8 00000040 000f4240 3b9aca00\n", 15.625)] // 64 ns ticks, high-resolution timers
    [InlineData("000003e8 00000400 000f4240 3b9aca00", 0.9765625)]
    [InlineData("00000001 00000001 000f4240 00000064", 1.0)]      // old 1 µs ticks
    [InlineData("0000003e8 00000040 3b9aca00 00000000", 1000)]    // clock_res 1 GHz: t2us := us2t, factor 1000
    public void ParsePsched_GivesTicksPerMicrosecond(string text, double expected)
        => Assert.Equal(expected, TokenBucket.ParsePsched(text));

    [Theory]
    // rate B/s, burst B: buffer = (uint)(burst·1e6/rate) µs × 15.625 ticks, truncated like the Go plugin.
    [InlineData(125_000ul, 8_000u, 1_000_000u)]
    [InlineData(1_250_000ul, 20_000u, 250_000u)]
    [InlineData(3ul, 1u, 5_208_328u)] // 333333 µs × 15.625 = 5208328.125
    public void BufferTicks_MatchesReferenceArithmetic(ulong rate, uint burst, uint expected)
        => Assert.Equal(expected, TokenBucket.BufferTicks(rate, burst, 15.625));

    [Theory]
    [InlineData(125_000ul, 8_000u, 11_125u)]      // 25 ms at 125000 B/s = 3125 B, plus the burst
    [InlineData(1_250_000ul, 20_000u, 51_250u)]
    [InlineData(100ul, 7u, 9u)]                    // 2.5 B truncates to 2
    public void LimitBytes_Is25msAtRatePlusBurst(ulong rate, uint burst, uint expected)
        => Assert.Equal(expected, TokenBucket.LimitBytes(rate, burst));

    [Theory]
    [InlineData(0ul, 8ul, "rateBits")]
    [InlineData(8ul, 0ul, "burstBits")]
    [InlineData(8ul, 8ul * uint.MaxValue, "burstBits")]
    public void FromBits_RejectsBadInputNamingTheField(ulong rate, ulong burst, string field)
        => Assert.Equal(field, Assert.Throws<ArgumentOutOfRangeException>(() => TokenBucket.FromBits(rate, burst)).ParamName);
}
