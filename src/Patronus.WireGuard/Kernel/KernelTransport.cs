using Patronus.Netlink;
using Patronus.Netlink.Protocol;

namespace Patronus.WireGuard.Kernel;

/// <summary>
/// Devices run by the kernel module, through the generic netlink family "wireguard" in one network namespace.
/// Built only where the family resolves; where it does not, <see cref="WireGuardClient"/> says so per device.
/// </summary>
internal sealed class KernelTransport : IDisposable
{
    // Room below the socket's 16 KiB send buffer for the headers a message starts with.
    private const int MessageBudget = 15 * 1024;

    private readonly GenericNetlink _genl;
    private readonly RtNetlink _rtnl;
    private readonly ushort _familyId;

    private KernelTransport(GenericNetlink genl, RtNetlink rtnl, ushort familyId)
    {
        _genl = genl;
        _rtnl = rtnl;
        _familyId = familyId;
    }

    /// <summary>The transport, or null when the kernel has no "wireguard" family (no module).</summary>
    public static KernelTransport? TryOpen(Func<GenericNetlink> openGeneric, Func<RtNetlink> openRoute)
    {
        var genl = openGeneric();
        try
        {
            if (genl.TryResolveFamily(WireGuardFamily.Name) is not { } family)
            {
                genl.Dispose();
                return null;
            }

            return new KernelTransport(genl, openRoute(), family.Id);
        }
        catch
        {
            genl.Dispose();
            throw;
        }
    }

    /// <summary>Kernel WireGuard devices are links of kind "wireguard".</summary>
    public IEnumerable<string> Names() => _rtnl.LinkList().Where(l => l.Kind == WireGuardFamily.Name).Select(l => l.Name).ToList();

    public Device Device(string name)
    {
        var socket = _genl.Socket;
        var writer = socket.Writer();
        KernelMessages.GetDevice(ref writer, _familyId, socket.NextSequence(), name);
        // One builder per attempt: an interrupted dump is repeated from an emptied list.
        var replies = new List<KernelMessages.DeviceBuilder>();
        try
        {
            socket.Dump(ref writer, "get", $"WireGuard device \"{name}\"", replies, static (list, in message) =>
            {
                if (list.Count == 0)
                {
                    list.Add(new KernelMessages.DeviceBuilder());
                }

                KernelMessages.ParseDevice(message, list[0]);
            });
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            throw new WireGuardException(name, "no such kernel WireGuard device", e.Errno, e) { IsNotFound = true };
        }

        return replies.Count > 0
            ? replies[0].Build(DeviceType.Kernel)
            : throw new WireGuardException(name, "the kernel answered with no device") { IsNotFound = true };
    }

    public void Configure(string name, DeviceConfig config)
    {
        var socket = _genl.Socket;
        var cursor = default(KernelMessages.SetCursor);
        bool more;
        do
        {
            var before = (cursor.Peer, cursor.AllowedIP);
            var writer = socket.Writer();
            more = KernelMessages.SetDevice(ref writer, _familyId, socket.NextSequence(), name, config, ref cursor, MessageBudget);
            if (more && before == (cursor.Peer, cursor.AllowedIP) && before != (0, 0))
            {
                throw new WireGuardException(name, $"peer {config.Peers[cursor.Peer].PublicKey} does not fit one netlink message");
            }

            try
            {
                socket.Execute(ref writer, "configure", $"WireGuard device \"{name}\"");
            }
            catch (NetlinkException e)
            {
                throw new WireGuardException(name, $"the kernel refused the configuration: {e.Message}", e.Errno, e) { IsNotFound = e.IsNotFound };
            }
        }
        while (more);
    }

    public void Dispose()
    {
        _genl.Dispose();
        _rtnl.Dispose();
    }
}
