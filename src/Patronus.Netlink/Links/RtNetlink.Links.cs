using Patronus.Netlink.Links;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    private const int MaxInterfaceNameLength = 15; // IFNAMSIZ - 1

    /// <summary>The link called <paramref name="name"/>, or null when there is none.</summary>
    public Link? LinkByName(string name)
    {
        CheckName(name, nameof(name));
        var writer = _socket.Writer();
        LinkMessages.GetByName(ref writer, _socket.NextSequence(), name);
        return QueryLink(ref writer, $"link \"{name}\"");
    }

    /// <summary>The link with index <paramref name="index"/>, or null when there is none.</summary>
    public Link? LinkByIndex(int index)
    {
        CheckIndex(index, nameof(index));
        var writer = _socket.Writer();
        LinkMessages.GetByIndex(ref writer, _socket.NextSequence(), index);
        return QueryLink(ref writer, Describe(index));
    }

    public IReadOnlyList<Link> LinkList()
    {
        var writer = _socket.Writer();
        LinkMessages.Dump(ref writer, _socket.NextSequence());
        var links = new List<Link>();
        _socket.Dump(ref writer, "list", "links", links, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewLink)
            {
                list.Add(LinkMessages.Parse(message));
            }
        });
        return links;
    }

    /// <summary>Creates a bridge; fails with <see cref="NetlinkException.IsExists"/> when the name is taken.</summary>
    public void LinkAddBridge(string name, int? mtu = null, bool vlanFiltering = false)
    {
        CheckName(name, nameof(name));
        CheckMtu(mtu);
        var writer = _socket.Writer();
        LinkMessages.NewBridge(ref writer, _socket.NextSequence(), name, mtu, vlanFiltering);
        _socket.Execute(ref writer, "add bridge", $"\"{name}\"");
    }

    /// <summary>
    /// Creates a veth pair. With <paramref name="peerNamespace"/> the peer is created directly inside that
    /// namespace (one round trip instead of create-then-move). With <paramref name="masterIndex"/> and
    /// <paramref name="up"/> the host end is also enslaved and brought up in the same request. Returns the host
    /// end as the kernel reported it on creation (index, MAC; no master yet), or null when the kernel does
    /// not echo (before Linux 6.1): then look it up.
    /// </summary>
    public Link? LinkAddVeth(
        string name, string peerName, int? mtu = null, NetNs? peerNamespace = null, byte[]? mac = null, byte[]? peerMac = null,
        int? masterIndex = null, bool up = false)
    {
        CheckName(name, nameof(name));
        CheckName(peerName, nameof(peerName));
        CheckMtu(mtu);
        CheckMac(mac, nameof(mac));
        CheckMac(peerMac, nameof(peerMac));
        if (masterIndex is { } master)
        {
            CheckIndex(master, nameof(masterIndex));
        }

        var addRef = false;
        try
        {
            peerNamespace?.Handle.DangerousAddRef(ref addRef);
            var writer = _socket.Writer();
            LinkMessages.NewVeth(ref writer, _socket.NextSequence(), name, peerName, mtu, peerNamespace?.Fd, mac, peerMac, masterIndex, up);
            var created = new Link?[1];
            _socket.Query(ref writer, "add veth", $"\"{name}\" (peer \"{peerName}\")", (created, name), static (state, in message) =>
            {
                if (message.Type == RouteMessageType.NewLink && state.created[0] is null)
                {
                    var link = LinkMessages.Parse(message);
                    if (link.Name == state.name)
                    {
                        state.created[0] = link;
                    }
                }
            });
            return created[0];
        }
        finally
        {
            if (addRef)
            {
                peerNamespace!.Handle.DangerousRelease();
            }
        }
    }

    /// <summary>Creates an ifb device (the target a mirred redirect shapes ingress traffic through).</summary>
    public void LinkAddIfb(string name, int? mtu = null)
    {
        CheckName(name, nameof(name));
        CheckMtu(mtu);
        var writer = _socket.Writer();
        LinkMessages.NewSimple(ref writer, _socket.NextSequence(), name, "ifb", mtu);
        _socket.Execute(ref writer, "add ifb", $"\"{name}\"");
    }

    /// <summary>Creates a kernel WireGuard device (only where the module exists; configure it over generic netlink).</summary>
    public void LinkAddWireGuard(string name, int? mtu = null)
    {
        CheckName(name, nameof(name));
        CheckMtu(mtu);
        var writer = _socket.Writer();
        LinkMessages.NewSimple(ref writer, _socket.NextSequence(), name, "wireguard", mtu);
        _socket.Execute(ref writer, "add wireguard", $"\"{name}\"");
    }

    /// <summary>
    /// Creates a vxlan device (an overlay tunnel endpoint); fails with <see cref="NetlinkException.IsExists"/> when
    /// the name is taken. Read its settings back from <see cref="Link.Vxlan"/>.
    /// </summary>
    public void LinkAddVxlan(string name, VxlanSettings settings, int? mtu = null)
    {
        CheckName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        CheckMtu(mtu);
        var writer = _socket.Writer();
        LinkMessages.NewVxlan(ref writer, _socket.NextSequence(), name, settings, mtu);
        _socket.Execute(ref writer, "add vxlan", $"\"{name}\" (VNI {settings.Vni})");
    }

    public void LinkSetUp(int index) => SetFlags(index, InterfaceFlags.Up, InterfaceFlags.Up, "set up");

    public void LinkSetDown(int index) => SetFlags(index, 0, InterfaceFlags.Up, "set down");

    public void LinkSetPromisc(int index, bool on)
        => SetFlags(index, on ? InterfaceFlags.Promiscuous : 0, InterfaceFlags.Promiscuous, on ? "set promisc on" : "set promisc off");

    public void LinkSetMtu(int index, int mtu)
    {
        CheckIndex(index, nameof(index));
        CheckMtu(mtu);
        var writer = _socket.Writer();
        LinkMessages.Set(ref writer, _socket.NextSequence(), index);
        writer.WriteAttributeUInt32(LinkAttribute.Mtu, (uint)mtu);
        _socket.Execute(ref writer, $"set mtu {mtu} on", Describe(index));
    }

    public void LinkSetMac(int index, ReadOnlySpan<byte> mac)
    {
        CheckIndex(index, nameof(index));
        if (mac.Length != 6)
        {
            throw new ArgumentException($"MAC address must be 6 bytes, got {mac.Length}", nameof(mac));
        }

        var writer = _socket.Writer();
        LinkMessages.Set(ref writer, _socket.NextSequence(), index);
        writer.WriteAttribute(LinkAttribute.Address, mac);
        _socket.Execute(ref writer, $"set mac {MacAddress.Format(mac)} on", Describe(index));
    }

    /// <summary>Renames a link (the kernel refuses while it is up: EBUSY).</summary>
    public void LinkSetName(int index, string name)
    {
        CheckIndex(index, nameof(index));
        CheckName(name, nameof(name));
        var writer = _socket.Writer();
        LinkMessages.Set(ref writer, _socket.NextSequence(), index);
        writer.WriteAttributeString(LinkAttribute.Name, name);
        _socket.Execute(ref writer, $"rename to \"{name}\"", Describe(index));
    }

    public void LinkSetMaster(int index, int masterIndex)
    {
        CheckIndex(index, nameof(index));
        CheckIndex(masterIndex, nameof(masterIndex));
        SetMaster(index, masterIndex, $"set master #{masterIndex} on");
    }

    public void LinkSetNoMaster(int index)
    {
        CheckIndex(index, nameof(index));
        SetMaster(index, 0, "remove master from");
    }

    /// <summary>Moves a link into <paramref name="target"/>; its index may change there.</summary>
    public void LinkSetNsFd(int index, NetNs target)
    {
        CheckIndex(index, nameof(index));
        ArgumentNullException.ThrowIfNull(target);
        var addRef = false;
        try
        {
            target.Handle.DangerousAddRef(ref addRef);
            var writer = _socket.Writer();
            LinkMessages.Set(ref writer, _socket.NextSequence(), index);
            writer.WriteAttributeUInt32(LinkAttribute.NetNsFd, (uint)target.Fd);
            _socket.Execute(ref writer, $"move to namespace {target.Path}", Describe(index));
        }
        finally
        {
            if (addRef)
            {
                target.Handle.DangerousRelease();
            }
        }
    }

    /// <summary>Sets hairpin mode on a bridge port (the link must be enslaved to a bridge).</summary>
    public void LinkSetHairpin(int index, bool on)
    {
        CheckIndex(index, nameof(index));
        var writer = _socket.Writer();
        LinkMessages.SetHairpin(ref writer, _socket.NextSequence(), index, on);
        _socket.Execute(ref writer, on ? "set hairpin on" : "set hairpin off", Describe(index));
    }

    /// <summary>Deletes a link (deleting one end of a veth deletes both).</summary>
    public void LinkDel(int index)
    {
        CheckIndex(index, nameof(index));
        var writer = _socket.Writer();
        LinkMessages.Delete(ref writer, _socket.NextSequence(), index);
        _socket.Execute(ref writer, "delete", Describe(index));
    }

    /// <summary>
    /// Deletes a link like <see cref="LinkDel"/> but returns once the kernel has unlisted it: its name (and a
    /// veth peer's name in the peer's namespace), addresses, routes and bridge port are gone and may be reused.
    /// The kernel then still waits for pending RCU callbacks (rcu_barrier in netdev_run_todo, tens of
    /// milliseconds) before it frees the device; that wait is sat out by a forked child nobody waits for.
    /// On kernels before 6.1 (no NLM_F_ECHO on delete) this returns at the acknowledgement, as LinkDel does.
    /// </summary>
    public void LinkDelUnlisted(int index)
    {
        CheckIndex(index, nameof(index));
        var writer = _socket.Writer();
        LinkMessages.DeleteEchoed(ref writer, _socket.NextSequence(), index);
        _socket.ExecuteUntilEcho(ref writer, RouteMessageType.DeleteLink, "delete", Describe(index));
    }

    private Link? QueryLink(ref NetlinkMessageWriter writer, string target)
    {
        var holder = new Link?[1];
        try
        {
            _socket.Query(ref writer, "get", target, holder, static (h, in message) =>
            {
                if (message.Type == RouteMessageType.NewLink)
                {
                    h[0] = LinkMessages.Parse(message);
                }
            });
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            return null;
        }

        return holder[0];
    }

    private void SetFlags(int index, uint flags, uint change, string operation)
    {
        CheckIndex(index, nameof(index));
        var writer = _socket.Writer();
        LinkMessages.Set(ref writer, _socket.NextSequence(), index, flags, change);
        _socket.Execute(ref writer, operation, Describe(index));
    }

    private void SetMaster(int index, int masterIndex, string operation)
    {
        var writer = _socket.Writer();
        LinkMessages.Set(ref writer, _socket.NextSequence(), index);
        writer.WriteAttributeUInt32(LinkAttribute.Master, (uint)masterIndex);
        _socket.Execute(ref writer, operation, Describe(index));
    }

    private static void CheckName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length == 0 || name.Length > MaxInterfaceNameLength || name == "." || name == ".."
            || name.AsSpan().IndexOfAny('/', ' ', ':') >= 0 || name.AsSpan().IndexOfAnyInRange('\0', '\x1f') >= 0)
        {
            throw new ArgumentException(
                $"interface name \"{name}\" is invalid: 1-{MaxInterfaceNameLength} characters, no '/', ':', spaces or control characters",
                paramName);
        }
    }

    private static void CheckMtu(int? mtu)
    {
        if (mtu is { } m && (m < 68 || m > 65535))
        {
            throw new ArgumentOutOfRangeException(nameof(mtu), m, "MTU must be between 68 and 65535");
        }
    }

    private static void CheckMac(byte[]? mac, string paramName)
    {
        if (mac is not null && mac.Length != 6)
        {
            throw new ArgumentException($"MAC address must be 6 bytes, got {mac.Length}", paramName);
        }
    }
}
