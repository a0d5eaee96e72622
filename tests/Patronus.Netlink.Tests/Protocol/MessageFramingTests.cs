using Patronus.Netlink.Links;
using Patronus.Netlink.Protocol;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

public sealed class MessageFramingTests
{
    [Theory]
    [InlineData(0, "0400 0100")]
    [InlineData(1, "0500 0100 aa 000000")]
    [InlineData(2, "0600 0100 aaaa 0000")]
    [InlineData(3, "0700 0100 aaaaaa 00")]
    [InlineData(4, "0800 0100 aaaaaaaa")]
    [InlineData(5, "0900 0100 aaaaaaaa aa 000000")]
    public void Attribute_LengthExcludesPadding_PaddingIsZeroTo4Bytes(int length, string expected)
    {
        var buffer = new byte[64];
        buffer.AsSpan().Fill(0xee); // padding must be written, not left over
        var writer = new NetlinkMessageWriter(buffer);

        writer.WriteAttribute(1, Enumerable.Repeat((byte)0xaa, length).ToArray());

        Assert.Equal(Normalize(expected), Convert.ToHexString(writer.Written).ToLowerInvariant());
    }

    [Theory]
    [InlineData("", "0500 0300 00 000000")]
    [InlineData("lo", "0700 0300 6c6f00 00")]
    [InlineData("eth0", "0900 0300 65746830 00 000000")]
    [InlineData("bwp0123456789ab", "1400 0300 627770303132333435363738396162 00")]
    public void StringAttribute_IsNulTerminatedAndPadded(string value, string expected)
    {
        var buffer = new byte[64];
        var writer = new NetlinkMessageWriter(buffer);

        writer.WriteAttributeString(3, value);

        Assert.Equal(Normalize(expected), Convert.ToHexString(writer.Written).ToLowerInvariant());
    }

    [Fact]
    public void AttributeReader_SkipsPaddingAndMasksNestedAndByteOrderFlags()
    {
        var bytes = Hex("0500 0100 aa 000000 | 0c00 0280 | 0800 0100 01020304 | 0600 0340 bbcc 0000");
        var reader = new AttributeReader(bytes);

        Assert.True(reader.TryRead(out var type, out var value));
        Assert.Equal(1, type);
        Assert.Equal(new byte[] { 0xaa }, value.ToArray());
        Assert.True(reader.TryRead(out type, out value));
        Assert.Equal(2, type);
        var nested = new AttributeReader(value);
        Assert.True(nested.TryRead(out var innerType, out var inner));
        Assert.Equal(1, innerType);
        Assert.Equal(0x04030201u, HostOrder.ReadUInt32(inner));
        Assert.False(nested.TryRead(out _, out _));
        Assert.True(reader.TryRead(out type, out value));
        Assert.Equal(3, type);
        Assert.Equal(new byte[] { 0xbb, 0xcc }, value.ToArray());
        Assert.False(reader.TryRead(out _, out _));
    }

    [Fact]
    public void AttributeReader_LengthBeyondData_Throws()
    {
        var bytes = Hex("0c00 0100 aaaa");
        Assert.Throws<InvalidDataException>(() =>
        {
            var reader = new AttributeReader(bytes);
            reader.TryRead(out _, out _);
        });
    }

    [Fact]
    public void Error_CappedWithExtAck_GivesErrnoAndKernelText()
    {
        // nlmsgerr { error = -ENETUNREACH; echoed header only (NLM_F_CAPPED) } + NLMSGERR_ATTR_MSG + NLMSGERR_ATTR_OFFS
        var bytes = Hex("""
            4c000000 0200 0003 2a000000 d2040000
            9bffffff
            20000000 1800 0506 2a000000 00000000
            2000 0100 4e657874686f702068617320696e76616c69642067617465776179 00
            0800 0200 20000000
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        var errno = NetlinkError.Decode(message, out var text);

        Assert.Equal(NetlinkMessageType.Error, message.Type);
        Assert.Equal(42u, message.Sequence);
        Assert.Equal(101, errno);
        Assert.Equal("Nexthop has invalid gateway", text);
    }

    [Fact]
    public void Error_NotCapped_SkipsTheEchoedRequestBeforeTheAttributes()
    {
        var bytes = Hex("""
            40000000 0200 0002 2a000000 d2040000
            efffffff
            20000000 1000 0506 2a000000 00000000 | 00 00 0000 00000000 00000000 00000000
            0900 0100 6f6f707300 000000
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        Assert.Equal(17, NetlinkError.Decode(message, out var text));
        Assert.Equal("oops", text);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Error_PlainAck_IsErrnoZeroWithoutText()
    {
        var bytes = Hex("24000000 0200 0001 05000000 00000000 | 00000000 | 20000000 1300 0500 05000000 00000000");
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        Assert.Equal(0, NetlinkError.Decode(message, out var text));
        Assert.Null(text);
    }

    [Fact]
    public void Done_WithDumpError_HasTheTextRightAfterTheErrno()
    {
        var bytes = Hex("""
            1c000000 0300 0202 07000000 63000000
            eaffffff
            0800 0100 62616400
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));

        Assert.Equal(22, NetlinkError.DecodeDone(message, out var text));
        Assert.Equal("bad", text);
    }

    [Fact]
    public void Done_Plain_IsZero()
    {
        var reader = new NetlinkMessageReader(Hex("14000000 0300 0200 07000000 63000000 | 00000000"));
        Assert.True(reader.TryRead(out var message));

        Assert.Equal(0, NetlinkError.DecodeDone(message, out var text));
        Assert.Null(text);
    }

    [Fact]
    public void MultipartDump_TwoLinksThenDone()
    {
        var datagram = Hex("""
            30000000 1000 0200 07000000 63000000
            00 00 0403 01000000 49000000 00000000
            0700 0300 6c6f00 00
            0800 0400 00000100

            44000000 1000 0200 07000000 63000000
            00 00 0100 02000000 03100000 00000000
            0800 0300 62723000
            0a00 0100 021122334455 0000
            1000 1280 | 0b00 0100 627269646765 0000

            14000000 0300 0200 07000000 63000000 | 00000000
            """);
        var reader = new NetlinkMessageReader(datagram);

        Assert.True(reader.TryRead(out var first));
        Assert.Equal(NetlinkFlags.Multi, first.Flags);
        var lo = LinkMessages.Parse(first);
        Assert.True(reader.TryRead(out var second));
        var bridge = LinkMessages.Parse(second);
        Assert.True(reader.TryRead(out var done));
        Assert.False(reader.TryRead(out _));

        Assert.Equal(new Link(1, "lo", "", 65536, [], true, null, null, null, 0x49), lo with { Mac = [] });
        Assert.Equal(2, bridge.Index);
        Assert.Equal("br0", bridge.Name);
        Assert.Equal("bridge", bridge.Kind);
        Assert.Equal("02:11:22:33:44:55", bridge.MacText);
        Assert.True(bridge.IsUp);
        Assert.Equal(NetlinkMessageType.Done, done.Type);
        Assert.Equal(7u, done.Sequence);
    }

    [Fact]
    public void MessageReader_LengthBeyondDatagram_Throws()
    {
        var bytes = Hex("40000000 1000 0200 07000000 63000000");
        Assert.Throws<InvalidDataException>(() =>
        {
            var reader = new NetlinkMessageReader(bytes);
            reader.TryRead(out _);
        });
    }
}
