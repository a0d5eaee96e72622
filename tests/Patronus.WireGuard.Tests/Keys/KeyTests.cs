using System.Net;
using Patronus.Testing;

namespace Patronus.WireGuard.Tests.Keys;

public sealed class KeyTests
{
    // RFC 7748 section 6.1: Alice's private key and the public key it gives.
    private const string RfcPrivateHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    private const string RfcPublicHex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    [Fact]
    public void PublicKey_Rfc7748Vector()
    {
        var privateKey = Key.FromBytes(KeyKind.Private, Convert.FromHexString(RfcPrivateHex));

        var publicKey = privateKey.PublicKey();

        Assert.Equal(KeyKind.Public, publicKey.Kind);
        Assert.Equal(RfcPublicHex, Convert.ToHexStringLower(publicKey.Bytes));
        Assert.Equal("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", publicKey.ToBase64());
    }

    [Fact]
    public void GeneratePrivate_PublicKeyAgreesWithWgPubkey()
    {
        var privateKey = Key.GeneratePrivate();

        var wg = Command.Run("sh", ["-c", $"echo {privateKey.ToBase64()} | wg pubkey"]);

        Assert.Equal(0, wg.ExitCode);
        Assert.Equal(wg.Stdout.Trim(), privateKey.PublicKey().ToBase64());
        Assert.NotEqual(privateKey.ToBase64(), Key.GeneratePrivate().ToBase64());
    }

    [Fact]
    public void ToString_RedactsSecrets_ShowsPublicKeys()
    {
        var privateKey = Key.GeneratePrivate();
        var psk = Key.GeneratePreshared();
        var publicKey = privateKey.PublicKey();

        Assert.Equal("(private key)", privateKey.ToString());
        Assert.Equal("(preshared key)", psk.ToString());
        Assert.Equal(publicKey.ToBase64(), publicKey.ToString());
        Assert.Equal(publicKey.ToBase64(), $"{publicKey}");
    }

    [Fact]
    public void RecordsHoldingSecrets_PrintNoKeyMaterial()
    {
        var privateKey = Key.GeneratePrivate();
        var psk = Key.GeneratePreshared();
        var config = new DeviceConfig
        {
            PrivateKey = privateKey,
            Peers = [new PeerConfig { PublicKey = Key.GeneratePrivate().PublicKey(), PresharedKey = psk, Endpoint = IPEndPoint.Parse("10.0.0.1:51820") }],
        };
        var device = new Device { Name = "wg0", Type = DeviceType.Userspace, PrivateKey = privateKey, PublicKey = privateKey.PublicKey() };

        var printed = string.Join("\n", config.ToString(), config.Peers[0].ToString(), device.ToString());

        AssertNoSecret(printed, privateKey);
        AssertNoSecret(printed, psk);
        Assert.Contains("(private key)", printed);
        Assert.Contains("(preshared key)", printed);
    }

    [Fact]
    public void Parse_Malformed_NeverEchoesTheText()
    {
        const string almostAKey = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC";
        var error = Assert.Throws<FormatException>(() => Key.Parse(KeyKind.Private, almostAKey));

        Assert.DoesNotContain(almostAKey, error.Message);
        Assert.Contains("private key must be 32 bytes in base64", error.Message);
    }

    [Fact]
    public void Parse_RoundTripsBase64()
    {
        var key = Key.GeneratePrivate().PublicKey();

        Assert.Equal(key, Key.Parse(KeyKind.Public, key.ToBase64()));
        Assert.Equal(key.GetHashCode(), Key.Parse(KeyKind.Public, key.ToBase64()).GetHashCode());
    }

    [Fact]
    public void Equality_ComparesKindAndBytes()
    {
        var bytes = Convert.FromHexString(RfcPrivateHex);

        Assert.Equal(Key.FromBytes(KeyKind.Private, bytes), Key.FromBytes(KeyKind.Private, bytes));
        Assert.NotEqual(Key.FromBytes(KeyKind.Private, bytes), Key.FromBytes(KeyKind.Preshared, bytes));
        Assert.NotEqual(Key.FromBytes(KeyKind.Private, bytes), Key.GeneratePrivate());
    }

    [Fact]
    public void FromBytes_WrongLength_And_PublicKeyOfAPublicKey_Refused()
    {
        Assert.Contains("32 bytes, not 31", Assert.Throws<ArgumentException>(() => Key.FromBytes(KeyKind.Public, new byte[31])).Message);
        Assert.Throws<InvalidOperationException>(() => Key.GeneratePrivate().PublicKey().PublicKey());
    }

    internal static void AssertNoSecret(string text, Key secret)
    {
        Assert.DoesNotContain(secret.ToBase64(), text);
        Assert.DoesNotContain(Convert.ToHexStringLower(secret.Bytes), text, StringComparison.OrdinalIgnoreCase);
    }
}
