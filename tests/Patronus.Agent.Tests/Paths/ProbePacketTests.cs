using Patronus.Agent.Paths;

namespace Patronus.Agent.Tests.Paths;

public sealed class ProbePacketTests
{
    private static byte[] Hex(string text) => Convert.FromHexString(text.Replace(" ", "").Replace("|", ""));

    // "PPRB", version 1, kind 1 (request), flags 0, path 1, sequence 0x01020304, sent at 5 s = 5,000,000,000 ns.
    private const string Request = "50505242 | 01 | 01 | 0000 | 00000001 | 01020304 | 000000012a05f200";
    private const string Reply = "50505242 | 01 | 02 | 0000 | 00000001 | 01020304 | 000000012a05f200";

    [Fact]
    public void Request_IsPinnedByItsBytes()
    {
        var packet = new ProbePacket(ProbeKind.Request, 1, 0x01020304, 5_000_000_000);
        Assert.Equal(Hex(Request), packet.ToArray());
        Assert.True(ProbePacket.TryRead(Hex(Request), out var read, out _));
        Assert.Equal(packet, read);
    }

    [Fact]
    public void Reply_DiffersFromTheRequestInTheKindByteOnly()
    {
        var datagram = Hex(Request);
        Assert.True(ProbePacket.TryTurnIntoReply(datagram, out _));
        Assert.Equal(Hex(Reply), datagram);
        Assert.False(ProbePacket.TryTurnIntoReply(datagram, out var refusal));
        Assert.Equal(ProbeRefusal.WrongDirection, refusal);
        Assert.Equal(Hex(Reply), datagram);
    }

    [Theory]
    [InlineData("", ProbeRefusal.WrongLength)]
    [InlineData("50505242 01 01 0000 00000001 01020304 000000012a05f2", ProbeRefusal.WrongLength)]
    [InlineData("50505242 01 01 0000 00000001 01020304 000000012a05f20000", ProbeRefusal.WrongLength)]
    [InlineData("50505243 01 01 0000 00000001 01020304 000000012a05f200", ProbeRefusal.BadMagic)]
    [InlineData("50505242 02 01 0000 00000001 01020304 000000012a05f200", ProbeRefusal.UnsupportedVersion)]
    [InlineData("50505242 01 00 0000 00000001 01020304 000000012a05f200", ProbeRefusal.BadKind)]
    [InlineData("50505242 01 03 0000 00000001 01020304 000000012a05f200", ProbeRefusal.BadKind)]
    [InlineData("50505242 01 01 0001 00000001 01020304 000000012a05f200", ProbeRefusal.BadFlags)]
    public void Malformed_RefusedWithTheReason_AndLeftUntouched(string hex, ProbeRefusal expected)
    {
        var datagram = Hex(hex);
        var copy = datagram.ToArray();
        Assert.False(ProbePacket.TryRead(datagram, out _, out var refusal));
        Assert.Equal(expected, refusal);
        Assert.False(ProbePacket.TryTurnIntoReply(datagram, out refusal));
        Assert.Equal(expected, refusal);
        Assert.Equal(copy, datagram);
    }

    [Fact]
    public void RandomAndMutatedDatagrams_NeverThrow_AndAreAcceptedOnlyWhenEveryFieldIsValid()
    {
        var random = new Random(99);
        var valid = Hex(Request);
        for (var i = 0; i < 100_000; i++)
        {
            byte[] datagram;
            if (i % 2 == 0)
            {
                datagram = new byte[random.Next(0, 40)];
                random.NextBytes(datagram);
            }
            else
            {
                datagram = valid.ToArray();
                datagram[random.Next(datagram.Length)] = (byte)random.Next(256);
            }
            var accepted = ProbePacket.TryRead(datagram, out var packet, out _);
            var wellFormed = datagram.Length == ProbePacket.Size && datagram.AsSpan(0, 4).SequenceEqual("PPRB"u8)
                && datagram[4] == 1 && datagram[5] is 1 or 2 && datagram[6] == 0 && datagram[7] == 0;
            Assert.Equal(wellFormed, accepted);
            if (accepted)
                Assert.Equal(datagram, packet.ToArray());
        }
    }

    [Fact]
    public void WireTimestamps_RoundTripExactly()
    {
        foreach (var at in new[] { TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(123.4567), TimeSpan.FromDays(400) })
            Assert.Equal(at, PathProber.FromWire(PathProber.ToWire(at)));
        Assert.Equal((long)(ulong.MaxValue / 100), PathProber.FromWire(ulong.MaxValue).Ticks);
    }
}
