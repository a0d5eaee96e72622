using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>bfifo leaves under HTB classes, checked against what tc sends (strace -e sendmsg -xx).</summary>
public sealed class FifoEncodingTests
{
    [Fact]
    public void ReplaceBfifo_SameBytesAsTc()
    {
        // tc qdisc replace dev va parent 1:2 handle 2: bfifo limit 281250 (va = index 3), sequence number aside.
        var expected = """
            38000000 2400 0505 01000000 00000000
            00 00 0000 03000000 00000200 02000100 00000000
            0a00 0100 626669666f00 0000
            0800 0200 a24a0400
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => FifoMessages.ReplaceBfifo(ref w, 1, 3, TcHandle.Make(2, 0), TcHandle.Make(1, 2), 281_250)));
    }

    [Fact]
    public void Parse_ReadsKindAndLimit_OtherQdiscsNull()
    {
        var bytes = Hex(Encode((ref w) => FifoMessages.ReplaceBfifo(ref w, 1, 3, TcHandle.Make(2, 0), TcHandle.Make(1, 2), 300_000)));
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        Assert.Equal(new FifoQdiscInfo(3, TcHandle.Make(2, 0), TcHandle.Make(1, 2), "bfifo", 300_000), FifoMessages.Parse(message));

        var htb = Hex(Encode((ref w) => TcMessages.NewHtbQdisc(ref w, 1, 3, TcHandle.Make(1, 0), TcHandle.Root, 2)));
        reader = new NetlinkMessageReader(htb);
        Assert.True(reader.TryRead(out message));
        Assert.Null(FifoMessages.Parse(message));
    }
}
