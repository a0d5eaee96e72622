using System.Net;

namespace Patronus.Netlink.Tests.Protocol;

public sealed class ValueParsingTests
{
    [Theory]
    [InlineData("10.1.0.5/24", "10.1.0.5", 24, "10.1.0.0/24")]
    [InlineData("0.0.0.0/0", "0.0.0.0", 0, "0.0.0.0/0")]
    [InlineData("10.255.255.255/9", "10.255.255.255", 9, "10.128.0.0/9")]
    [InlineData("fd00::5/64", "fd00::5", 64, "fd00::/64")]
    [InlineData("fd00:1:2:3:4:5:6:7/127", "fd00:1:2:3:4:5:6:7", 127, "fd00:1:2:3:4:5:6:6/127")]
    public void IpPrefix_ParseAndNetwork(string text, string address, int length, string network)
    {
        var prefix = IpPrefix.Parse(text);
        Assert.Equal(IPAddress.Parse(address), prefix.Address);
        Assert.Equal(length, prefix.PrefixLength);
        Assert.Equal(network, prefix.Network().ToString());
        Assert.Equal(text, prefix.ToString());
    }

    [Theory]
    [InlineData("10.1.0.5")]
    [InlineData("10.1.0.5/33")]
    [InlineData("fd00::1/129")]
    [InlineData("10.1.0.5/-1")]
    [InlineData("10.1.0.5/ 24")]
    public void IpPrefix_Parse_RejectsBadInput(string text)
        => Assert.ThrowsAny<Exception>(() => IpPrefix.Parse(text));

    [Theory]
    [InlineData("10.1.0.0/24", "10.1.0.77", true)]
    [InlineData("10.1.0.0/24", "10.1.1.1", false)]
    [InlineData("fd00::/64", "fd00::1", true)]
    [InlineData("fd00::/64", "10.1.0.1", false)]
    public void IpPrefix_Contains(string prefix, string address, bool expected)
        => Assert.Equal(expected, IpPrefix.Parse(prefix).Contains(IPAddress.Parse(address)));

    [Theory]
    [InlineData("02:42:ac:11:00:02", new byte[] { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 })]
    [InlineData("FF:ff:00:00:00:01", new byte[] { 0xff, 0xff, 0, 0, 0, 1 })]
    public void MacAddress_ParseAndFormat(string text, byte[] bytes)
    {
        Assert.Equal(bytes, MacAddress.Parse(text));
        Assert.Equal(text.ToLowerInvariant(), MacAddress.Format(bytes));
    }

    [Theory]
    [InlineData("02:42:ac:11:00")]
    [InlineData("02:42:ac:11:00:zz")]
    [InlineData("0242ac110002")]
    [InlineData("02:42:ac:11:00:002")]
    public void MacAddress_Parse_RejectsBadInput(string text)
        => Assert.Throws<FormatException>(() => MacAddress.Parse(text));

    [Fact]
    public void NetlinkException_MessageHasOperationObjectStrerrorAndExtAck()
    {
        var error = new NetlinkException("add bridge", "\"br0\"", 17, "already there");
        Assert.Equal("add bridge \"br0\": File exists (already there)", error.Message);
        Assert.True(error.IsExists);
        Assert.False(error.IsNotFound);
        Assert.Equal("delete link #4: No such device", new NetlinkException("delete", "link #4", 19).Message);
        Assert.True(new NetlinkException("x", "y", 3).IsNotFound);
        Assert.True(new NetlinkException("x", "y", 2).IsNotFound);
    }
}
