using System.Net;
using Patronus.Netlink.Links;
using Patronus.Netlink.Protocol;
using static Patronus.Netlink.Tests.Protocol.Bytes;

namespace Patronus.Netlink.Tests.Protocol;

/// <summary>RTM_NEWLINK for vxlan, checked against what iproute2 sends (captured with strace -e sendmsg -xx).</summary>
public sealed class VxlanEncodingTests
{
    private const string ZeroInfo = "00 00 0000 00000000 00000000 00000000";

    [Fact]
    public void NewVxlan_SameBytesAsIproute2()
    {
        // `ip link add vx0 type vxlan id 42 local 192.168.5.1 dev u0 dstport 8472 nolearning` (u0 = index 3)
        // sent these bytes, sequence number aside, with one difference: iproute2 leaves the NUL off
        // IFLA_INFO_KIND ("0900 0100 76786c616e 000000"); the kernel takes either (NLA_STRING), and this
        // library terminates every string it sends.
        var expected = $"""
            64000000 1000 0506 01000000 00000000
            {ZeroInfo}
            0800 0300 76783000
            3c00 1200
              0a00 0100 76786c616e 00 0000
              2c00 0200
                0800 0300 03000000
                0800 0100 2a000000
                0800 0400 c0a80501
                0500 0700 00 000000
                0600 0f00 2118 0000
            """;

        var settings = new VxlanSettings { Vni = 42, Local = IPAddress.Parse("192.168.5.1"), UnderlayIndex = 3 };
        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewVxlan(ref w, 1, "vx0", settings, null)));
    }

    [Fact]
    public void NewVxlan_IPv6LocalAndGroup_UseTheSixAttributes_LearningOn_PortBigEndian()
    {
        var expected = $"""
            84000000 1000 0506 02000000 00000000
            {ZeroInfo}
            0800 0300 76783100
            0800 0400 aa050000
            5400 1200
              0a00 0100 76786c616e 00 0000
              4400 0200
                0800 0100 ffffff00
                1400 1000 ff050000000000000000000000000001
                1400 1100 fd000000000000000000000000000001
                0500 0700 01 000000
                0600 0f00 12b5 0000
            """;

        var settings = new VxlanSettings
        {
            Vni = VxlanSettings.MaxVni, Local = IPAddress.Parse("fd00::1"), Group = IPAddress.Parse("ff05::1"),
            Learning = true, Port = 4789,
        };
        Assert.Equal(Normalize(expected), Encode((ref w) => LinkMessages.NewVxlan(ref w, 2, "vx1", settings, 1450)));
    }

    [Theory]
    [InlineData(42, "192.168.5.1", 3, (ushort)8472, false)]
    [InlineData(0, null, null, (ushort)4789, true)]
    [InlineData(16777215, "fd00::7", 12, (ushort)1, false)]
    public void VxlanInfoData_ParsesBackToTheSameSettings(int vni, string? local, int? underlay, ushort port, bool learning)
    {
        var settings = new VxlanSettings
        {
            Vni = vni, Local = local is null ? null : IPAddress.Parse(local), UnderlayIndex = underlay, Port = port, Learning = learning,
        };
        var bytes = Hex(Encode((ref w) => LinkMessages.NewVxlan(ref w, 1, "vx0", settings, null)));

        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var message));
        var link = LinkMessages.Parse(message);
        Assert.Equal("vxlan", link.Kind);
        Assert.Equal(settings, link.Vxlan);
    }

    [Theory]
    [InlineData(-1, "Vni")]
    [InlineData(16777216, "Vni")]
    public void Validate_VniOutOfRange_NamesTheField(int vni, string field)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new VxlanSettings { Vni = vni }.Validate());
        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void Validate_LocalAndGroupOfDifferentFamilies_NamesGroup()
    {
        var settings = new VxlanSettings { Vni = 1, Local = IPAddress.Parse("10.0.0.1"), Group = IPAddress.Parse("ff05::1") };
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.Equal("Group", error.ParamName);
        Assert.Contains("one family", error.Message);
    }

    [Fact]
    public void Validate_PortZeroOrUnderlayIndexZero_Refused()
    {
        Assert.Equal("Port", Assert.Throws<ArgumentOutOfRangeException>(() => new VxlanSettings { Vni = 1, Port = 0 }.Validate()).ParamName);
        Assert.Equal("UnderlayIndex", Assert.Throws<ArgumentOutOfRangeException>(() => new VxlanSettings { Vni = 1, UnderlayIndex = 0 }.Validate()).ParamName);
    }
}
