using System.Net;
using Patronus.Netlink.Protocol;
using Patronus.WireGuard.Kernel;

namespace Patronus.WireGuard.Tests.Kernel;

/// <summary>
/// WG_CMD_GET_DEVICE / WG_CMD_SET_DEVICE, derived by hand from linux/wireguard.h (these machines have no
/// WireGuard module, so the vectors are the proof; the layout is the one the header documents).
/// </summary>
public sealed class KernelMessagesTests
{
    private const ushort FamilyId = 0x1b;
    private const string PrivateHex = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a";
    private const string PeerHex = "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33";
    private const string PskHex = "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52";
    private const string PublicHex = "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376";

    [Fact]
    public void GetDevice_DumpByName()
    {
        var expected = """
            1c000000 1b00 0103 01000000 00000000
            00 01 0000
            0800 0200 77673000
            """;

        Assert.Equal(Normalize(expected), Encode((ref NetlinkMessageWriter w) => KernelMessages.GetDevice(ref w, FamilyId, 1, "wg0")));
    }

    [Fact]
    public void SetDevice_EveryField_NestedWithNlaFNested()
    {
        var expected = $"""
            14010000 1b00 0500 02000000 00000000
            01 01 0000
            0800 0200 77673000
            2400 0300 {PrivateHex}
            0600 0600 6cca 0000
            0800 0700 42000000
            0800 0500 01000000
            bc00 0880
              b800 0080
                2400 0100 {PeerHex}
                0800 0300 02000000
                2400 0200 {PskHex}
                1400 0400 0200 ca6c c0a80404 0000000000000000
                0600 0500 1900 0000
                4800 0980
                  1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0a640002 | 0500 0300 20 000000
                  2800 0080 | 0600 0100 0a00 0000 | 1400 0200 fd100000000000000000000000000000 | 0500 0300 40 000000
            """;

        var config = new DeviceConfig
        {
            PrivateKey = Key.FromBytes(KeyKind.Private, Convert.FromHexString(PrivateHex)),
            ListenPort = 51820,
            FirewallMark = 0x42,
            ReplacePeers = true,
            Peers =
            [
                new PeerConfig
                {
                    PublicKey = Key.FromBytes(KeyKind.Public, Convert.FromHexString(PeerHex)),
                    PresharedKey = Key.FromBytes(KeyKind.Preshared, Convert.FromHexString(PskHex)),
                    Endpoint = IPEndPoint.Parse("192.168.4.4:51820"),
                    PersistentKeepaliveInterval = TimeSpan.FromSeconds(25),
                    ReplaceAllowedIPs = true,
                    AllowedIPs = [IPNetwork.Parse("10.100.0.2/32"), IPNetwork.Parse("fd10::/64")],
                },
            ],
        };

        var messages = EncodeSet(config, 15 * 1024);

        Assert.Equal(Normalize(expected), Assert.Single(messages));
    }

    [Fact]
    public void SetDevice_RemovePeer_OnlyKeyAndFlag_UpdateOnlyFlag()
    {
        var expected = $"""
            80000000 1b00 0500 02000000 00000000
            01 01 0000
            0800 0200 77673000
            6400 0880
              3000 0080
                2400 0100 {PeerHex}
                0800 0300 01000000
              3000 0080
                2400 0100 {PublicHex}
                0800 0300 04000000
            """;

        var config = new DeviceConfig
        {
            Peers =
            [
                new PeerConfig { PublicKey = Key.FromBytes(KeyKind.Public, Convert.FromHexString(PeerHex)), Remove = true, AllowedIPs = [IPNetwork.Parse("10.0.0.0/8")] },
                new PeerConfig { PublicKey = Key.FromBytes(KeyKind.Public, Convert.FromHexString(PublicHex)), UpdateOnly = true },
            ],
        };

        Assert.Equal(Normalize(expected), Assert.Single(EncodeSet(config, 15 * 1024)));
    }

    [Fact]
    public void SetDevice_ReplacePeersWithNoPeers_HasNoPeersAttribute()
    {
        var expected = """
            24000000 1b00 0500 02000000 00000000
            01 01 0000
            0800 0200 77673000
            0800 0500 01000000
            """;

        Assert.Equal(Normalize(expected), Assert.Single(EncodeSet(new DeviceConfig { ReplacePeers = true }, 15 * 1024)));
    }

    [Fact]
    public void SetDevice_LargeConfig_SplitWithinBudget_FoldsBackToTheSamePeers()
    {
        var peers = Enumerable.Range(1, 7).Select(i => new PeerConfig
        {
            PublicKey = Key.GeneratePrivate().PublicKey(),
            Endpoint = IPEndPoint.Parse($"192.168.4.{i}:51820"),
            ReplaceAllowedIPs = true,
            AllowedIPs = Enumerable.Range(0, i * 3).Select(j => IPNetwork.Parse($"10.{i}.{j}.0/24")).ToList(),
        }).ToList();
        var config = new DeviceConfig { PrivateKey = Key.GeneratePrivate(), ReplacePeers = true, Peers = peers };
        const int budget = 400;

        var messages = EncodeSet(config, budget).Select(Convert.FromHexString).ToList();

        Assert.True(messages.Count > 5, $"{messages.Count} messages");
        Assert.All(messages, m => Assert.True(m.Length <= budget, $"a message of {m.Length} bytes"));
        var device = new KernelMessages.DeviceBuilder();
        foreach (var bytes in messages)
        {
            var reader = new NetlinkMessageReader(bytes);
            Assert.True(reader.TryRead(out var message));
            KernelMessages.ParseDevice(message, device);
        }

        var folded = device.Build(DeviceType.Kernel);
        Assert.Equal(peers.Select(p => p.PublicKey), folded.Peers.Select(p => p.PublicKey));
        Assert.Equal(peers.Select(p => p.AllowedIPs.ToList()), folded.Peers.Select(p => p.AllowedIPs.ToList()));
        Assert.Equal(peers.Select(p => p.Endpoint), folded.Peers.Select(p => p.Endpoint));
        // Only the first message carries the device's settings (REPLACE_PEERS must not empty the device again).
        Assert.Contains(Convert.ToHexStringLower(config.PrivateKey!.Bytes), Convert.ToHexStringLower(messages[0]));
        Assert.All(messages.Skip(1), m => Assert.DoesNotContain("0800050001000000", Convert.ToHexStringLower(m)));
    }

    [Fact]
    public void ParseDevice_KernelReply_EveryField()
    {
        var reply = Convert.FromHexString(Normalize($"""
            48010000 1b00 0200 01000000 00000000
            00 01 0000
            0800 0100 05000000
            0800 0200 77673000
            2400 0300 {PrivateHex}
            2400 0400 {PublicHex}
            0600 0600 6cca 0000
            0800 0700 00000000
            cc00 0880
              c800 0080
                2400 0100 {PeerHex}
                2400 0200 {new string('0', 64)}
                2000 0400 0a00 ca6c 00000000 fd000000000000000000000000000002 00000000
                0600 0500 0000 0000
                1400 0600 00f1536500000000 00e1f50500000000
                0c00 0700 d008000000000000
                0c00 0800 bd95000000000000
                2000 0980
                  1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0a640002 | 0500 0300 20 000000
                0800 0a00 01000000
            """));

        var reader = new NetlinkMessageReader(reply);
        Assert.True(reader.TryRead(out var message));
        var builder = new KernelMessages.DeviceBuilder();
        KernelMessages.ParseDevice(message, builder);
        var device = builder.Build(DeviceType.Kernel);

        Assert.Equal("wg0", device.Name);
        Assert.Equal(PrivateHex, Convert.ToHexStringLower(device.PrivateKey!.Bytes));
        Assert.Equal(PublicHex, Convert.ToHexStringLower(device.PublicKey!.Bytes));
        Assert.Equal(51820, device.ListenPort);
        var peer = Assert.Single(device.Peers);
        Assert.Equal(PeerHex, Convert.ToHexStringLower(peer.PublicKey.Bytes));
        Assert.Null(peer.PresharedKey);
        Assert.Equal(IPEndPoint.Parse("[fd00::2]:51820"), peer.Endpoint);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000).AddMilliseconds(100), peer.LastHandshakeTime);
        Assert.Equal((2256L, 38333L), (peer.ReceiveBytes, peer.TransmitBytes));
        Assert.Equal([IPNetwork.Parse("10.100.0.2/32")], peer.AllowedIPs);
        Assert.Equal(1, peer.ProtocolVersion);
    }

    [Theory]
    [InlineData("192.168.4.4:51820", "0200ca6cc0a804040000000000000000")]
    [InlineData("[fd00::2]:1", "0a00000100000000fd00000000000000000000000000000200000000")]
    public void Sockaddr_RoundTrips(string endpoint, string hex)
    {
        Span<byte> buffer = stackalloc byte[28];
        var written = KernelMessages.WriteSockaddr(IPEndPoint.Parse(endpoint), buffer);

        Assert.Equal(hex, Convert.ToHexStringLower(written));
        Assert.Equal(IPEndPoint.Parse(endpoint), KernelMessages.ReadSockaddr(Convert.FromHexString(hex)));
    }

    private static List<string> EncodeSet(DeviceConfig config, int budget)
    {
        var messages = new List<string>();
        var cursor = default(KernelMessages.SetCursor);
        bool more;
        do
        {
            var buffer = new byte[16 * 1024];
            var writer = new NetlinkMessageWriter(buffer);
            more = KernelMessages.SetDevice(ref writer, FamilyId, 2, "wg0", config, ref cursor, budget);
            messages.Add(Convert.ToHexStringLower(writer.EndMessage()));
        }
        while (more);
        return messages;
    }

    private delegate void Encoder(ref NetlinkMessageWriter writer);

    private static string Encode(Encoder encode)
    {
        var buffer = new byte[4096];
        var writer = new NetlinkMessageWriter(buffer);
        encode(ref writer);
        return Convert.ToHexStringLower(writer.EndMessage());
    }

    private static string Normalize(string hex) => string.Concat(hex.Where(c => !char.IsWhiteSpace(c) && c != '|')).ToLowerInvariant();
}
