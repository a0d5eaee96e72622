using Patronus.Netlink.Links;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>RTM_NEWLINK and friends, derived by hand from linux/if_link.h, veth.h and rtnetlink.h.</summary>
public sealed class LinkEncodingTests
{
    private const string ZeroInfo = "00 00 0000 00000000 00000000 00000000"; // struct ifinfomsg, AF_UNSPEC, index 0

    [Fact]
    public void NewBridge_WithMtu()
    {
        var expected = $"""
            40000000 1000 0506 01000000 00000000
            {ZeroInfo}
            0800 0300 62723000
            0800 0400 dc050000
            1000 1200 | 0b00 0100 627269646765 0000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewBridge(ref w, 1, "br0", 1500, vlanFiltering: false)));
    }

    [Fact]
    public void NewBridge_WithVlanFiltering_NestsInfoData()
    {
        var expected = $"""
            44000000 1000 0506 02000000 00000000
            {ZeroInfo}
            0800 0300 62723100
            1c00 1200 | 0b00 0100 627269646765 0000 | 0c00 0200 | 0500 0700 01 000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewBridge(ref w, 2, "br1", null, vlanFiltering: true)));
    }

    [Fact]
    public void NewVeth_NestsPeerInfoInsideInfoData()
    {
        var expected = $"""
            60000000 1000 0d06 02000000 00000000
            {ZeroInfo}
            0a00 0300 7665746830 00 0000
            3400 1200
              0900 0100 76657468 00 000000
              2400 0200
                2000 0100
                  {ZeroInfo}
                  0900 0300 65746830 00 000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewVeth(ref w, 2, "veth0", "eth0", null, null, default, default)));
    }

    [Fact]
    public void NewVeth_WithMtuMacsAndPeerNamespace()
    {
        var expected = $"""
            8c000000 1000 0d06 03000000 00000000
            {ZeroInfo}
            0700 0300 766800 00
            0800 0400 78050000
            0a00 0100 020000000001 0000
            5000 1200
              0900 0100 76657468 00 000000
              4000 0200
                3c00 0100
                  {ZeroInfo}
                  0900 0300 65746830 00 000000
                  0800 0400 78050000
                  0a00 0100 020000000002 0000
                  0800 1c00 07000000
            """;

        var actual = Encode((ref w) => LinkMessages.NewVeth(
            ref w, 3, "vh", "eth0", 1400, 7, [0x02, 0, 0, 0, 0, 0x01], [0x02, 0, 0, 0, 0, 0x02]));
        Assert.Equal(Normalize(expected), actual);
    }

    [Fact]
    public void NewVeth_EnslavedAndUp_SetsIffUpAndIflaMasterOnTheHostEndOnly()
    {
        // NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO | NLM_F_EXCL | NLM_F_CREATE = 0x060d; ifi_flags = ifi_change = IFF_UP;
        // IFLA_MASTER (10) = 5 outside IFLA_LINKINFO, so it is the host end's, not the peer's.
        var expected = $"""
            68000000 1000 0d06 04000000 00000000
            00 00 0000 00000000 01000000 01000000
            0a00 0300 7665746830 00 0000
            0800 0a00 05000000
            3400 1200
              0900 0100 76657468 00 000000
              2400 0200
                2000 0100
                  {ZeroInfo}
                  0900 0300 65746830 00 000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewVeth(ref w, 4, "veth0", "eth0", null, null, default, default, masterIndex: 5, up: true)));
    }

    [Fact]
    public void NewIfb()
    {
        var expected = $"""
            38000000 1000 0506 04000000 00000000
            {ZeroInfo}
            0900 0300 62777030 00 000000
            0c00 1200 | 0800 0100 69666200
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewSimple(ref w, 4, "bwp0", "ifb", null)));
    }

    [Fact]
    public void SetUp_UsesFlagsAndChangeMask()
    {
        var expected = """
            20000000 1300 0500 05000000 00000000
            00 00 0000 07000000 01000000 01000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.Set(ref w, 5, 7, flags: 1, change: 1)));
    }

    [Fact]
    public void SetHairpin_IsNestedProtinfoOnAfBridge()
    {
        var expected = """
            2c000000 1300 0500 06000000 00000000
            07 00 0000 07000000 00000000 00000000
            0c00 0c80 | 0500 0400 01 000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.SetHairpin(ref w, 6, 7, on: true)));
    }

    [Fact]
    public void Delete_AsksForAnAck()
    {
        var expected = """
            20000000 1100 0500 08000000 00000000
            00 00 0000 07000000 00000000 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.Delete(ref w, 8, 7)));
    }

    [Fact]
    public void DeleteEchoed_AddsNlmFEcho()
    {
        // NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO = 0x0d: the kernel unicasts its RTM_DELLINK notification back.
        var expected = """
            20000000 1100 0d00 09000000 00000000
            00 00 0000 07000000 00000000 00000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.DeleteEchoed(ref w, 9, 7)));
    }

    [Fact]
    public void GetByName_IsAPlainRequest_SkippingStats()
    {
        var expected = $"""
            34000000 1200 0100 07000000 00000000
            {ZeroInfo}
            0900 0300 65746830 00 000000
            0800 1d00 08000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.GetByName(ref w, 7, "eth0")));
    }

    [Fact]
    public void Dump_SetsDumpFlags_SkippingStats()
    {
        var expected = $"""
            28000000 1200 0103 08000000 00000000
            {ZeroInfo}
            0800 1d00 08000000
            """;

        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.Dump(ref w, 8)));
    }
}
