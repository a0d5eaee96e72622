using System.Net;
using Patronus.WireGuard.Tests.Keys;
using Patronus.WireGuard.Userspace;

namespace Patronus.WireGuard.Tests.Userspace;

/// <summary>The cross-platform UAPI text, pinned exactly (wireguard.com/xplatform, "Configuration Protocol").</summary>
public sealed class UapiProtocolTests
{
    private static readonly Key Private = Key.FromBytes(KeyKind.Private, Convert.FromHexString("e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"));
    private static readonly Key PeerA = Key.FromBytes(KeyKind.Public, Convert.FromHexString("b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"));
    private static readonly Key PeerB = Key.FromBytes(KeyKind.Public, Convert.FromHexString("58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"));
    private static readonly Key PeerC = Key.FromBytes(KeyKind.Public, Convert.FromHexString("662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58"));
    private static readonly Key Psk = Key.FromBytes(KeyKind.Preshared, Convert.FromHexString("188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"));

    [Fact]
    public void SetRequest_EveryField_InProtocolOrder()
    {
        var config = new DeviceConfig
        {
            PrivateKey = Private,
            ListenPort = 12912,
            FirewallMark = 0,
            ReplacePeers = true,
            Peers =
            [
                new PeerConfig
                {
                    PublicKey = PeerA, PresharedKey = Psk, Endpoint = IPEndPoint.Parse("[abcd:23::33%2]:51820"),
                    ReplaceAllowedIPs = true, AllowedIPs = [IPNetwork.Parse("192.168.4.4/32")],
                },
                new PeerConfig
                {
                    PublicKey = PeerB, UpdateOnly = true, Endpoint = IPEndPoint.Parse("182.122.22.19:3233"),
                    PersistentKeepaliveInterval = TimeSpan.FromSeconds(111), AllowedIPs = [IPNetwork.Parse("192.168.4.6/32")],
                },
                new PeerConfig { PublicKey = PeerC, Remove = true, AllowedIPs = [IPNetwork.Parse("10.0.0.0/8")] },
            ],
        };

        var expected = """
            set=1
            private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a
            listen_port=12912
            fwmark=0
            replace_peers=true
            public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33
            preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52
            endpoint=[abcd:23::33%2]:51820
            replace_allowed_ips=true
            allowed_ip=192.168.4.4/32
            public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376
            update_only=true
            endpoint=182.122.22.19:3233
            persistent_keepalive_interval=111
            allowed_ip=192.168.4.6/32
            public_key=662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58
            remove=true


            """.Replace("\r", "");
        Assert.Equal(expected, UapiProtocol.SetRequest(config));
    }

    [Fact]
    public void SetRequest_NothingSet_IsJustTheOperation()
        => Assert.Equal("set=1\n\n", UapiProtocol.SetRequest(new DeviceConfig()));

    [Fact]
    public void ParseGet_WireguardGoAnswer_EveryField()
    {
        var response = """
            private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a
            listen_port=12912
            fwmark=66
            public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33
            preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52
            protocol_version=1
            endpoint=[abcd:23::33%2]:51820
            last_handshake_time_sec=1700000000
            last_handshake_time_nsec=500000000
            tx_bytes=38333
            rx_bytes=2224
            persistent_keepalive_interval=0
            allowed_ip=192.168.4.4/32
            allowed_ip=fd00:4::/64
            public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376
            preshared_key=0000000000000000000000000000000000000000000000000000000000000000
            protocol_version=1
            last_handshake_time_sec=0
            last_handshake_time_nsec=0
            tx_bytes=0
            rx_bytes=0
            persistent_keepalive_interval=25
            errno=0


            """.Replace("\r", "");

        var device = UapiProtocol.ParseGet("wg0", response);

        Assert.Equal("wg0", device.Name);
        Assert.Equal(DeviceType.Userspace, device.Type);
        Assert.Equal(Private, device.PrivateKey);
        Assert.Equal(Private.PublicKey(), device.PublicKey);
        Assert.Equal(12912, device.ListenPort);
        Assert.Equal(66, device.FirewallMark);
        Assert.Equal(2, device.Peers.Count);
        var a = device.Peers[0];
        Assert.Equal(PeerA, a.PublicKey);
        Assert.Equal(Psk, a.PresharedKey);
        Assert.Equal(IPEndPoint.Parse("[abcd:23::33%2]:51820"), a.Endpoint);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000).AddMilliseconds(500), a.LastHandshakeTime);
        Assert.Equal((2224L, 38333L), (a.ReceiveBytes, a.TransmitBytes));
        Assert.Equal(TimeSpan.Zero, a.PersistentKeepaliveInterval);
        Assert.Equal(1, a.ProtocolVersion);
        Assert.Equal([IPNetwork.Parse("192.168.4.4/32"), IPNetwork.Parse("fd00:4::/64")], a.AllowedIPs);
        var b = device.Peers[1];
        Assert.Null(b.PresharedKey);
        Assert.Null(b.Endpoint);
        Assert.Null(b.LastHandshakeTime);
        Assert.Equal(TimeSpan.FromSeconds(25), b.PersistentKeepaliveInterval);
        Assert.Empty(b.AllowedIPs);
    }

    [Fact]
    public void ParseGet_FreshDevice_NoKeyNoPeers()
    {
        var device = UapiProtocol.ParseGet("wg1", "listen_port=41376\nerrno=0\n\n");

        Assert.Null(device.PrivateKey);
        Assert.Null(device.PublicKey);
        Assert.Equal(41376, device.ListenPort);
        Assert.Empty(device.Peers);
    }

    [Theory]
    [InlineData("errno=-22\n\n", 22)]
    [InlineData("errno=98\n\n", 98)]
    public void CheckSetResponse_NonZeroErrno_ThrowsWithPositiveErrno(string response, int errno)
    {
        var error = Assert.Throws<WireGuardException>(() => UapiProtocol.CheckSetResponse("wg0", response));

        Assert.Equal(errno, error.Errno);
        Assert.StartsWith("WireGuard device \"wg0\": configure: the userspace implementation refused it", error.Message);
        Assert.Contains($"errno {errno}", error.Message);
    }

    [Fact]
    public void CheckSetResponse_NoErrnoLine_IsAnError()
        => Assert.Contains("without an errno line", Assert.Throws<WireGuardException>(() => UapiProtocol.CheckSetResponse("wg0", "\n")).Message);

    [Fact]
    public void ParseGet_MalformedPrivateKey_ErrorDoesNotEchoIt()
    {
        const string almost = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027";
        var error = Assert.Throws<WireGuardException>(() => UapiProtocol.ParseGet("wg0", $"private_key={almost}\nerrno=0\n\n"));

        Assert.DoesNotContain(almost, error.Message);
        Assert.Contains("malformed private_key", error.Message);
    }

    [Fact]
    public void ParseGet_LineWithoutEquals_ErrorDoesNotEchoIt()
    {
        var error = Assert.Throws<WireGuardException>(() => UapiProtocol.ParseGet("wg0", "private_keye84b5a6d\nerrno=0\n\n"));

        Assert.DoesNotContain("e84b5a6d", error.Message);
    }

    [Fact]
    public void ParseGet_MalformedCounter_NamesKeyAndValue()
        => Assert.Contains("malformed rx_bytes \"lots\"", Assert.Throws<WireGuardException>(() => UapiProtocol.ParseGet(
            "wg0", $"public_key={PeerA.ToHex()}\nrx_bytes=lots\nerrno=0\n\n")).Message);

    [Theory]
    [InlineData("errno=0\n\n", true)]
    [InlineData("listen_port=1\nerrno=0\n\n", true)]
    [InlineData("listen_port=1\nerrno=0\n", false)]
    [InlineData("listen_port=1\n\n", false)]
    [InlineData("", false)]
    public void IsComplete_OnlyAfterErrnoAndTheEmptyLine(string response, bool complete)
        => Assert.Equal(complete, UapiProtocol.IsComplete(response));

    [Fact]
    public void Validate_WrongKeyKinds_NamesTheField()
    {
        Assert.Equal("PrivateKey", Assert.Throws<ArgumentException>(() => new DeviceConfig { PrivateKey = PeerA }.Validate()).ParamName);
        Assert.Equal("PublicKey", Assert.Throws<ArgumentException>(() => new DeviceConfig { Peers = [new PeerConfig { PublicKey = Private }] }.Validate()).ParamName);
        var psk = Assert.Throws<ArgumentException>(() => new DeviceConfig { Peers = [new PeerConfig { PublicKey = PeerA, PresharedKey = Private }] }.Validate());
        Assert.Equal("PresharedKey", psk.ParamName);
        KeyTests.AssertNoSecret(psk.Message, Private);
        Assert.Equal("PersistentKeepaliveInterval", Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceConfig
        {
            Peers = [new PeerConfig { PublicKey = PeerA, PersistentKeepaliveInterval = TimeSpan.FromMilliseconds(1500) }],
        }.Validate()).ParamName);
        Assert.Equal("ListenPort", Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceConfig { ListenPort = 70000 }.Validate()).ParamName);
    }
}
