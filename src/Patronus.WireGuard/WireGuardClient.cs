using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Netlink;
using Patronus.WireGuard.Kernel;
using Patronus.WireGuard.Userspace;

namespace Patronus.WireGuard;

/// <summary>
/// Reads and configures WireGuard devices, whichever implementation runs them: a device with a UAPI socket is
/// a userspace one (wireguard-go), any other is the kernel's, reached through generic netlink in the network
/// namespace the client was opened in. Callers see one model (<see cref="Device"/>, <see cref="DeviceConfig"/>)
/// and never the protocols. Use a client from one thread at a time.
/// </summary>
public sealed partial class WireGuardClient : IDisposable
{
    private readonly UserspaceTransport _userspace;
    private readonly KernelTransport? _kernel;
    private readonly ILogger _logger;

    private WireGuardClient(UserspaceTransport userspace, KernelTransport? kernel, ILogger logger)
    {
        _userspace = userspace;
        _kernel = kernel;
        _logger = logger;
        if (kernel is null)
        {
            LogKernelUnavailable(_logger, userspace.SocketDirectory);
        }
    }

    /// <summary>Whether this kernel has the WireGuard module (its generic netlink family resolves).</summary>
    public bool KernelAvailable => _kernel is not null;

    /// <summary>Opens a client for the calling thread's network namespace.</summary>
    public static WireGuardClient Open(WireGuardClientOptions? options = null, ILogger<WireGuardClient>? logger = null)
    {
        options ??= new WireGuardClientOptions();
        return new WireGuardClient(
            new UserspaceTransport(options.SocketDirectory),
            KernelTransport.TryOpen(GenericNetlink.Open, RtNetlink.Open),
            (ILogger?)logger ?? NullLogger.Instance);
    }

    /// <summary>Opens a client whose kernel devices are those of <paramref name="ns"/>.</summary>
    public static WireGuardClient OpenIn(NetNs ns, WireGuardClientOptions? options = null, ILogger<WireGuardClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(ns);
        options ??= new WireGuardClientOptions();
        return new WireGuardClient(
            new UserspaceTransport(options.SocketDirectory),
            KernelTransport.TryOpen(() => GenericNetlink.OpenIn(ns), () => RtNetlink.OpenIn(ns)),
            (ILogger?)logger ?? NullLogger.Instance);
    }

    /// <summary>Every device: the kernel's, and each userspace one whose daemon still answers.</summary>
    public IReadOnlyList<Device> Devices()
    {
        var devices = new List<Device>();
        if (_kernel is not null)
        {
            devices.AddRange(_kernel.Names().Select(_kernel.Device));
        }

        foreach (var name in _userspace.Names())
        {
            try
            {
                devices.Add(_userspace.Device(name));
            }
            catch (WireGuardException e) when (e.IsNotFound)
            {
                LogStaleSocket(_logger, name, _userspace.SocketPath(name));
            }
        }

        return devices;
    }

    /// <summary>
    /// The device called <paramref name="name"/>; a <see cref="WireGuardException"/> (with
    /// <see cref="WireGuardException.IsNotFound"/>) when neither implementation has it.
    /// </summary>
    public Device Device(string name)
    {
        CheckName(name);
        return _userspace.Owns(name) ? _userspace.Device(name) : Kernel(name).Device(name);
    }

    /// <summary>Applies <paramref name="config"/> to the device: only what the config sets changes.</summary>
    public void ConfigureDevice(string name, DeviceConfig config)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (_userspace.Owns(name))
        {
            _userspace.Configure(name, config);
            LogConfigured(_logger, name, DeviceType.Userspace, config.Peers.Count, config.ReplacePeers);
        }
        else
        {
            Kernel(name).Configure(name, config);
            LogConfigured(_logger, name, DeviceType.Kernel, config.Peers.Count, config.ReplacePeers);
        }
    }

    public void Dispose() => _kernel?.Dispose();

    private KernelTransport Kernel(string name)
        => _kernel ?? throw new WireGuardException(
            name,
            $"no userspace socket {_userspace.SocketPath(name)}, and kernel WireGuard not available (no generic netlink family \"wireguard\": the module is not loaded)")
        {
            IsNotFound = true,
        };

    private static void CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 15 || name.AsSpan().IndexOfAny('/', '\0', ' ') >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"WireGuard device name \"{name}\" is invalid: 1-15 characters, no '/', spaces or NUL", nameof(name));
        }
    }
}
