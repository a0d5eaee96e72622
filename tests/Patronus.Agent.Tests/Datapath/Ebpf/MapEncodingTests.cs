using System.Net;
using System.Net.Sockets;
using Patronus.Agent.Datapath.Ebpf.Maps;
using Patronus.Agent.Datapath.Ebpf.Rules;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Tests.Datapath.Ebpf;

/// <summary>The map layouts of bpf/patronus_maps.h, pinned byte for byte.</summary>
public sealed class MapEncodingTests
{
    [Theory]
    [InlineData("10.0.0.1", "00000000000000000000FFFF0A000001")]
    [InlineData("fd77::11", "FD770000000000000000000000000011")]
    [InlineData("::ffff:10.0.0.1", "00000000000000000000FFFF0A000001")]
    public void Address_IsIpv6OrIpv4Mapped(string address, string expected) =>
        Assert.Equal(expected, Convert.ToHexString(MapEncoding.Address(IPAddress.Parse(address))));

    [Fact]
    public void EndpointValue_RulesetsThenCounters_HostOrder()
    {
        var bytes = MapEncoding.EndpointValue(new EndpointRulesets(Ingress: 1, Egress: 0x0203, IngressCounter: 7, EgressCounter: 0));

        Assert.Equal("01000000" + "03020000" + "07000000" + "00000000", Convert.ToHexString(bytes));
        Assert.Equal(new EndpointRulesets(1, 0x0203, 7, 0), MapEncoding.ReadEndpointValue(bytes));
    }

    [Theory]
    // prefixlen 40 + 16 = 0x38; rule set 7; family 4; 10.1.0.0; 12 unused address bytes; 3 bytes padding.
    [InlineData(AddressFamily.InterNetwork, "10.1.0.0", 16, "38000000" + "07000000" + "04" + "0A010000" + "000000000000000000000000" + "000000")]
    // prefixlen 40 + 128 = 0xA8; family 6; fd77::11.
    [InlineData(AddressFamily.InterNetworkV6, "fd77::11", 128, "A8000000" + "07000000" + "06" + "FD770000000000000000000000000011" + "000000")]
    // The whole IPv4 space: only rule set and family are compared.
    [InlineData(AddressFamily.InterNetwork, "0.0.0.0", 0, "28000000" + "07000000" + "04" + "00000000000000000000000000000000" + "000000")]
    public void PeerKey_Layout(AddressFamily family, string start, int length, string expected)
    {
        var address = IPAddress.Parse(start).GetAddressBytes();
        UInt128 number = 0;
        foreach (var b in address)
            number = (number << 8) | b;
        var key = MapEncoding.PeerKey(7, new PeerEntry(family, number, length, 3, false));

        Assert.Equal(MapEncoding.PeerKeySize, key.Length);
        Assert.Equal(expected, Convert.ToHexString(key));
        Assert.Equal(7u, MapEncoding.RulesetOfKey(key));
    }

    [Theory]
    [InlineData(3, false, "03000000" + "00000000")]
    [InlineData(0, true, "00000000" + "01000000")]
    public void PeerValue_ClassThenFlags(int portClass, bool anyPort, string expected) =>
        Assert.Equal(expected, Convert.ToHexString(MapEncoding.PeerValue(new PeerEntry(AddressFamily.InterNetwork, 0, 32, (ushort)portClass, anyPort))));

    [Theory]
    // prefixlen 56 + 16 = 0x48; rule set 9; class 2; TCP (6); port 8080 big-endian (1F90); padding.
    [InlineData(Protocol.Tcp, 8080, 16, "48000000" + "09000000" + "0200" + "06" + "1F90" + "000000")]
    // 8000-8007 as one prefix: 13 port bits.
    [InlineData(Protocol.Udp, 8000, 13, "45000000" + "09000000" + "0200" + "11" + "1F40" + "000000")]
    // Every SCTP port.
    [InlineData(Protocol.Sctp, 0, 0, "38000000" + "09000000" + "0200" + "84" + "0000" + "000000")]
    public void PortKey_Layout(Protocol protocol, int port, int length, string expected)
    {
        var key = MapEncoding.PortKey(9, new PortEntry(2, protocol, port, length));

        Assert.Equal(MapEncoding.PortKeySize, key.Length);
        Assert.Equal(expected, Convert.ToHexString(key));
        Assert.Equal(9u, MapEncoding.RulesetOfKey(key));
    }

    [Fact]
    public void CounterName_NulPadded_RoundTrips()
    {
        var bytes = MapEncoding.CounterName("team/allow-a ingress");

        Assert.Equal(MapEncoding.CounterNameSize, bytes.Length);
        Assert.Equal("7465616D2F616C6C6F772D6120696E6772657373", Convert.ToHexString(bytes.AsSpan(0, 20)));
        Assert.All(bytes[20..], b => Assert.Equal(0, b));
        Assert.Equal("team/allow-a ingress", MapEncoding.ReadCounterName(bytes));
    }

    [Fact]
    public void CounterName_TooLong_IsRefusedNamingIt()
    {
        var error = Assert.Throws<ArgumentException>(() => MapEncoding.CounterName(new string('x', 300)));
        Assert.Contains("drop counter label", error.Message);
    }

    [Fact]
    public void DropCounter_SumsEveryCpu()
    {
        // Two CPUs: {packets 2, bytes 100} and {packets 3, bytes 0x0101}.
        var perCpu = Convert.FromHexString("0200000000000000" + "6400000000000000" + "0300000000000000" + "0101000000000000");

        Assert.Equal((5UL, 100UL + 0x101), MapEncoding.SumDropCounter(perCpu));
    }
}
