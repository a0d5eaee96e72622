using Patronus.Netlink.Generic;
using Patronus.Netlink.Protocol;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>Generic netlink framing and the controller family (linux/genetlink.h).</summary>
public sealed class GenericEncodingTests
{
    [Fact]
    public void GetFamily_SameBytesAsGenlCtrlGet()
    {
        // genl ctrl get name nlctrl (strace -e sendmsg -xx), sequence number aside.
        var expected = """
            20000000 1000 0500 01000000 00000000
            03 00 0000
            0b00 0200 6e6c6374726c 00 00
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => GenericMessages.GetFamily(ref w, 1, "nlctrl")));
    }

    [Fact]
    public void DumpFamilies_NoAttributes()
    {
        var expected = """
            14000000 1000 0103 02000000 00000000
            03 00 0000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => GenericMessages.DumpFamilies(ref w, 2)));
    }

    [Fact]
    public void Begin_FamilyIdIsTheMessageType_CommandAndVersionFollow()
    {
        var expected = """
            1c000000 2300 0503 03000000 00000000
            01 01 0000
            0800 0100 07000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) =>
        {
            GenericMessages.Begin(ref w, 0x23, RequestFlags.Dump | NetlinkFlags.Ack, 3, 1, 1);
            w.WriteAttributeUInt32(1, 7);
        }));
    }

    [Fact]
    public void ParseFamily_ControllerReply_ReadsIdVersionAndMulticastGroups()
    {
        // CTRL_CMD_NEWFAMILY as the kernel answers for nlctrl: id 0x10 (a u16, padded), name, version 2,
        // header size 0, max attribute 10, and the array of multicast groups (element 1: "notify" = 0x10).
        var reply = Hex("""
            5c000000 1000 0000 01000000 00000000
            01 02 0000
            0600 0100 1000 0000
            0b00 0200 6e6c6374726c 00 00
            0800 0300 02000000
            0800 0400 00000000
            0800 0500 0a000000
            1c00 0700
              1800 0100
                0b00 0100 6e6f74696679 00 00
                0800 0200 10000000
            """);

        var reader = new NetlinkMessageReader(reply);
        Assert.True(reader.TryRead(out var message));
        var family = GenericMessages.ParseFamily(message);
        Assert.Equal((ushort)0x10, family.Id);
        Assert.Equal("nlctrl", family.Name);
        Assert.Equal(2u, family.Version);
        Assert.Equal(0u, family.HeaderSize);
        Assert.Equal(10u, family.MaxAttribute);
        Assert.Equal(0x10u, Assert.Single(family.MulticastGroups, g => g.Key == "notify").Value);
    }

    [Fact]
    public void NestedWithFlag_SetsNlaFNested_ReaderMasksItOff()
    {
        var buffer = new byte[64];
        var writer = new NetlinkMessageWriter(buffer);
        writer.BeginMessage(0x23, NetlinkFlags.Request, 1);
        var nest = writer.BeginNested(8 | NetlinkAttributeFlags.Nested);
        writer.WriteAttributeUInt16(6, 51820);
        writer.EndNested(nest);
        var bytes = writer.EndMessage().ToArray();

        Assert.Equal(Normalize("0c00 0880 | 0600 0600 6cca 0000"), Convert.ToHexString(bytes.AsSpan(16)).ToLowerInvariant());
        var reader = new AttributeReader(bytes.AsSpan(16));
        Assert.True(reader.TryRead(out var type, out var value));
        Assert.Equal(8, type);
        Assert.Equal(12 - 4, value.Length);
    }
}
