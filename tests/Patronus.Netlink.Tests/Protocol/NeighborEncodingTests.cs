using System.Net;
using Patronus.Netlink.Neighbors;
using Patronus.Netlink.Protocol;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>
/// RTM_*NEIGH for ARP/NDP and FDB entries. Every request vector is what iproute2 sent for the command quoted
/// (captured with strace -e sendmsg -xx on a vxlan device of index 4), sequence number aside.
/// </summary>
public sealed class NeighborEncodingTests
{
    private static readonly byte[] Mac9 = [0x02, 0, 0, 0, 0, 0x09];

    [Fact]
    public void NeighReplace_IPv4Permanent_SameBytesAsIpNeighReplace()
    {
        // ip neigh replace 10.1.1.1 lladdr 02:00:00:00:00:09 dev vx0 nud permanent
        var expected = """
            30000000 1c00 0505 01000000 00000000
            02 00 0000 04000000 8000 00 00
            0800 0100 0a010101
            0a00 0200 020000000009 0000
            """;

        var neighbor = new Neighbor { LinkIndex = 4, Address = IPAddress.Parse("10.1.1.1"), Mac = Mac9 };
        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.WriteNeighbor(ref w, RouteMessageType.NewNeighbor, RequestFlags.Replace, 1, neighbor)));
    }

    [Fact]
    public void NeighReplace_IPv6Permanent_SameBytesAsIpNeighReplace()
    {
        // ip neigh replace fd00::1 lladdr 02:00:00:00:00:09 dev vx0 nud permanent
        var expected = """
            3c000000 1c00 0505 02000000 00000000
            0a 00 0000 04000000 8000 00 00
            1400 0100 fd000000000000000000000000000001
            0a00 0200 020000000009 0000
            """;

        var neighbor = new Neighbor { LinkIndex = 4, Address = IPAddress.Parse("fd00::1"), Mac = Mac9 };
        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.WriteNeighbor(ref w, RouteMessageType.NewNeighbor, RequestFlags.Replace, 2, neighbor)));
    }

    [Fact]
    public void NeighDel_OnlyTheAddress_SameBytesAsIpNeighDel()
    {
        // ip neigh del 10.1.1.1 dev vx0
        var expected = """
            24000000 1d00 0500 03000000 00000000
            02 00 0000 04000000 8000 00 00
            0800 0100 0a010101
            """;

        var neighbor = new Neighbor { LinkIndex = 4, Address = IPAddress.Parse("10.1.1.1"), Mac = Mac9 };
        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.WriteNeighbor(ref w, RouteMessageType.DeleteNeighbor, RequestFlags.Change, 3, neighbor)));
    }

    [Fact]
    public void FdbReplace_SelfPermanentWithDestination_SameBytesAsBridgeFdbReplace()
    {
        // bridge fdb replace 02:00:00:00:00:09 dev vx0 dst 192.168.5.2 self permanent
        var expected = """
            30000000 1c00 0505 04000000 00000000
            07 00 0000 04000000 c000 02 00
            0a00 0200 020000000009 0000
            0800 0100 c0a80502
            """;

        var entry = new FdbEntry { LinkIndex = 4, Mac = Mac9, Destination = IPAddress.Parse("192.168.5.2") };
        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.WriteFdb(ref w, RouteMessageType.NewNeighbor, RequestFlags.Replace, 4, entry)));
    }

    [Fact]
    public void FdbAppend_AllZerosMac_SameBytesAsBridgeFdbAppend()
    {
        // bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.5.3 self permanent
        var expected = """
            30000000 1c00 050c 05000000 00000000
            07 00 0000 04000000 c000 02 00
            0a00 0200 000000000000 0000
            0800 0100 c0a80503
            """;

        var entry = new FdbEntry { LinkIndex = 4, Mac = FdbEntry.AllZerosMac, Destination = IPAddress.Parse("192.168.5.3") };
        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.WriteFdb(ref w, RouteMessageType.NewNeighbor, RequestFlags.Append, 5, entry)));
    }

    [Fact]
    public void FdbDel_SameBytesAsBridgeFdbDel()
    {
        // bridge fdb del 02:00:00:00:00:09 dev vx0 dst 192.168.5.2 self
        var expected = """
            30000000 1d00 0500 06000000 00000000
            07 00 0000 04000000 c000 02 00
            0a00 0200 020000000009 0000
            0800 0100 c0a80502
            """;

        var entry = new FdbEntry { LinkIndex = 4, Mac = Mac9, Destination = IPAddress.Parse("192.168.5.2") };
        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.WriteFdb(ref w, RouteMessageType.DeleteNeighbor, RequestFlags.Change, 6, entry)));
    }

    [Fact]
    public void Dump_AllFamilies_SameBytesAsIpNeighShow()
    {
        var expected = """
            1c000000 1e00 0103 07000000 00000000
            00 00 0000 00000000 0000 00 00
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => NeighborMessages.Dump(ref w, 7, Family.Unspecified)));
    }

    [Fact]
    public void ParseFdb_KernelReplyWithMaster_ReadsEveryField()
    {
        // An RTM_NEWNEIGH as the kernel dumps a bridge port's entry: AF_BRIDGE, port 5, NUD_REACHABLE,
        // NTF_MASTER, NDA_LLADDR, NDA_MASTER 3.
        var reply = Hex("""
            30000000 1c00 0200 01000000 00000000
            07 00 0000 05000000 0200 04 00
            0a00 0200 020000000009 0000
            0800 0900 03000000
            """);

        var reader = new NetlinkMessageReader(reply);
        Assert.True(reader.TryRead(out var message));
        var entry = NeighborMessages.ParseFdb(message);
        Assert.Equal(5, entry.LinkIndex);
        Assert.Equal(Mac9, entry.Mac);
        Assert.Null(entry.Destination);
        Assert.Equal(NeighborState.Reachable, entry.State);
        Assert.Equal(NeighborFlags.Master, entry.Flags);
        Assert.Equal(3, entry.MasterIndex);
    }

    [Theory]
    [InlineData("10.1.1.1", NeighborState.Permanent)]
    [InlineData("fd00::9", NeighborState.Reachable)]
    public void NeighReplace_ParsesBackToTheSameEntry(string address, NeighborState state)
    {
        var neighbor = new Neighbor { LinkIndex = 4, Address = IPAddress.Parse(address), Mac = Mac9, State = state, Flags = NeighborFlags.Router };
        var bytes = Hex(Encode((ref w) => NeighborMessages.WriteNeighbor(ref w, RouteMessageType.NewNeighbor, RequestFlags.Replace, 1, neighbor)));

        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        var parsed = NeighborMessages.ParseNeighbor(message)!;
        Assert.Equal(neighbor.Address, parsed.Address);
        Assert.Equal(neighbor.Mac, parsed.Mac);
        Assert.Equal((neighbor.LinkIndex, neighbor.State, neighbor.Flags), (parsed.LinkIndex, parsed.State, parsed.Flags));
    }
}
