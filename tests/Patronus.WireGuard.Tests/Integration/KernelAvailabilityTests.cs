using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.WireGuard.Tests.Integration;

/// <summary>
/// The kernel transport against the real kernel. These machines have no WireGuard module; each test states what
/// the kernel's own controller (`genl ctrl list`) says, so it holds on a machine with the module too.
/// </summary>
public sealed class KernelAvailabilityTests : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly NetNs _ns;
    private readonly WireGuardClient _client;
    private readonly string _emptyDirectory = Directory.CreateTempSubdirectory("pwg-sockets-").FullName;

    public KernelAvailabilityTests()
    {
        try
        {
            var name = _namespaces.Add($"pwgk-{Guid.NewGuid().ToString("N")[..8]}");
            _ns = NetNs.OpenPath(NetworkNamespace.PathOf(name));
            _client = WireGuardClient.OpenIn(_ns, new WireGuardClientOptions { SocketDirectory = _emptyDirectory });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static bool KernelHasWireGuard
        => Command.Run("genl", ["ctrl", "list"]).Stdout.Split('\n').Any(l => l.Trim() == "Name: wireguard");

    public void Dispose()
    {
        _client?.Dispose();
        _ns?.Dispose();
        _namespaces.Dispose();
        Directory.Delete(_emptyDirectory, recursive: true);
    }

    [Fact]
    public void KernelAvailable_AgreesWithTheController()
        => Assert.Equal(KernelHasWireGuard, _client.KernelAvailable);

    [Fact]
    public void Device_WithoutSocket_FailsCleanly()
    {
        var error = Assert.Throws<WireGuardException>(() => _client.Device("pwgnone0"));

        Assert.True(error.IsNotFound);
        Assert.StartsWith("WireGuard device \"pwgnone0\": ", error.Message);
        Assert.Contains(KernelHasWireGuard ? "no such kernel WireGuard device" : "kernel WireGuard not available", error.Message);
    }

    [Fact]
    public void ConfigureDevice_WithoutSocket_FailsCleanly_WithoutTheKey()
    {
        var privateKey = Key.GeneratePrivate();

        var error = Assert.Throws<WireGuardException>(() => _client.ConfigureDevice("pwgnone0", new DeviceConfig { PrivateKey = privateKey }));

        Assert.True(error.IsNotFound);
        Keys.KeyTests.AssertNoSecret(error.ToString(), privateKey);
    }

    [Fact]
    public void Devices_NoKernelDevicesAndNoSockets_IsEmpty()
        => Assert.Empty(_client.Devices());

    [Fact]
    public void ResolvingTheFamily_WithoutTheModule_IsNotFound()
    {
        using var genl = GenericNetlink.OpenIn(_ns);

        if (KernelHasWireGuard)
        {
            Assert.Equal("wireguard", genl.ResolveFamily("wireguard").Name);
        }
        else
        {
            Assert.True(Assert.Throws<NetlinkException>(() => genl.ResolveFamily("wireguard")).IsNotFound);
        }
    }

    [Fact]
    public void BadDeviceName_RefusedNamingIt()
        => Assert.Contains("\"wg/0\" is invalid", Assert.Throws<ArgumentException>(() => _client.Device("wg/0")).Message);
}
