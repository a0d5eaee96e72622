using System.Buffers.Binary;
using System.Net.Sockets;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Links;

/// <summary>Encodes RTM_*LINK requests: struct ifinfomsg (16 bytes) followed by IFLA_* attributes.</summary>
internal static class LinkMessages
{
    internal const int InfoHeaderLength = 16;

    public static void WriteInfoHeader(ref NetlinkMessageWriter writer, byte family, int index, uint flags = 0, uint change = 0)
    {
        writer.WriteByte(family);
        writer.WriteByte(0);
        writer.WriteUInt16(0); // ifi_type: ARPHRD, chosen by the kernel
        writer.WriteInt32(index);
        writer.WriteUInt32(flags);
        writer.WriteUInt32(change);
    }

    public static void NewBridge(ref NetlinkMessageWriter writer, uint sequence, string name, int? mtu, bool vlanFiltering)
    {
        writer.BeginMessage(RouteMessageType.NewLink, RequestFlags.Create, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, 0);
        writer.WriteAttributeString(LinkAttribute.Name, name);
        if (mtu is { } m)
        {
            writer.WriteAttributeUInt32(LinkAttribute.Mtu, (uint)m);
        }

        var linkInfo = writer.BeginNested(LinkAttribute.LinkInfo);
        writer.WriteAttributeString(LinkAttribute.InfoKind, "bridge");
        if (vlanFiltering)
        {
            var data = writer.BeginNested(LinkAttribute.InfoData);
            writer.WriteAttributeByte(LinkAttribute.BridgeVlanFiltering, 1);
            writer.EndNested(data);
        }

        writer.EndNested(linkInfo);
    }

    public static void NewVeth(
        ref NetlinkMessageWriter writer,
        uint sequence,
        string name,
        string peerName,
        int? mtu,
        int? peerNamespaceFd,
        ReadOnlySpan<byte> mac,
        ReadOnlySpan<byte> peerMac,
        int? masterIndex = null,
        bool up = false)
    {
        // NLM_F_ECHO: the kernel sends the new host end's RTM_NEWLINK back, sparing a lookup (Linux 6.1+;
        // older kernels just do not echo). IFF_UP in ifinfomsg and IFLA_MASTER apply to the host end at creation.
        writer.BeginMessage(RouteMessageType.NewLink, (ushort)(RequestFlags.Create | NetlinkFlags.Echo), sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, 0, up ? InterfaceFlags.Up : 0u, up ? InterfaceFlags.Up : 0u);
        writer.WriteAttributeString(LinkAttribute.Name, name);
        if (mtu is { } m)
        {
            writer.WriteAttributeUInt32(LinkAttribute.Mtu, (uint)m);
        }

        if (!mac.IsEmpty)
        {
            writer.WriteAttribute(LinkAttribute.Address, mac);
        }

        if (masterIndex is { } master)
        {
            writer.WriteAttributeUInt32(LinkAttribute.Master, (uint)master);
        }

        var linkInfo = writer.BeginNested(LinkAttribute.LinkInfo);
        writer.WriteAttributeString(LinkAttribute.InfoKind, "veth");
        var data = writer.BeginNested(LinkAttribute.InfoData);
        // VETH_INFO_PEER carries a whole ifinfomsg plus the peer's own IFLA_* attributes.
        var peer = writer.BeginNested(LinkAttribute.VethPeer);
        WriteInfoHeader(ref writer, Family.Unspecified, 0);
        writer.WriteAttributeString(LinkAttribute.Name, peerName);
        if (mtu is { } pm)
        {
            writer.WriteAttributeUInt32(LinkAttribute.Mtu, (uint)pm);
        }

        if (!peerMac.IsEmpty)
        {
            writer.WriteAttribute(LinkAttribute.Address, peerMac);
        }

        if (peerNamespaceFd is { } fd)
        {
            writer.WriteAttributeUInt32(LinkAttribute.NetNsFd, (uint)fd);
        }

        writer.EndNested(peer);
        writer.EndNested(data);
        writer.EndNested(linkInfo);
    }

    public static void NewSimple(ref NetlinkMessageWriter writer, uint sequence, string name, string kind, int? mtu)
    {
        writer.BeginMessage(RouteMessageType.NewLink, RequestFlags.Create, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, 0);
        writer.WriteAttributeString(LinkAttribute.Name, name);
        if (mtu is { } m)
        {
            writer.WriteAttributeUInt32(LinkAttribute.Mtu, (uint)m);
        }

        var linkInfo = writer.BeginNested(LinkAttribute.LinkInfo);
        writer.WriteAttributeString(LinkAttribute.InfoKind, kind);
        writer.EndNested(linkInfo);
    }

    /// <summary>
    /// A vxlan device. Inside IFLA_INFO_DATA the attributes come in iproute2's order (link, id, local, learning,
    /// port), so the request is byte for byte what `ip link add NAME type vxlan id N local A dev D dstport P
    /// nolearning` sends. The port is the one big-endian value here: the kernel declares it NLA_BE16.
    /// </summary>
    public static void NewVxlan(ref NetlinkMessageWriter writer, uint sequence, string name, VxlanSettings settings, int? mtu)
    {
        writer.BeginMessage(RouteMessageType.NewLink, RequestFlags.Create, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, 0);
        writer.WriteAttributeString(LinkAttribute.Name, name);
        if (mtu is { } m)
        {
            writer.WriteAttributeUInt32(LinkAttribute.Mtu, (uint)m);
        }

        var linkInfo = writer.BeginNested(LinkAttribute.LinkInfo);
        writer.WriteAttributeString(LinkAttribute.InfoKind, "vxlan");
        var data = writer.BeginNested(LinkAttribute.InfoData);
        if (settings.UnderlayIndex is { } underlay)
        {
            writer.WriteAttributeUInt32(VxlanAttribute.Link, (uint)underlay);
        }

        writer.WriteAttributeUInt32(VxlanAttribute.Id, (uint)settings.Vni);
        if (settings.Group is { } group)
        {
            writer.WriteAttributeAddress(group.AddressFamily == AddressFamily.InterNetwork ? VxlanAttribute.Group : VxlanAttribute.Group6, group);
        }

        if (settings.Local is { } local)
        {
            writer.WriteAttributeAddress(local.AddressFamily == AddressFamily.InterNetwork ? VxlanAttribute.Local : VxlanAttribute.Local6, local);
        }

        writer.WriteAttributeByte(VxlanAttribute.Learning, settings.Learning ? (byte)1 : (byte)0);
        Span<byte> port = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(port, settings.Port);
        writer.WriteAttribute(VxlanAttribute.Port, port);
        writer.EndNested(data);
        writer.EndNested(linkInfo);
    }

    /// <summary>RTM_SETLINK for one device; the caller appends the attribute to change.</summary>
    public static void Set(ref NetlinkMessageWriter writer, uint sequence, int index, uint flags = 0, uint change = 0)
    {
        writer.BeginMessage(RouteMessageType.SetLink, RequestFlags.Change, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, index, flags, change);
    }

    /// <summary>
    /// Hairpin mode lives in the bridge port's protocol info, set through AF_BRIDGE. The bridge code
    /// only reads IFLA_PROTINFO as nested IFLA_BRPORT_* when NLA_F_NESTED is set (br_setlink).
    /// </summary>
    public static void SetHairpin(ref NetlinkMessageWriter writer, uint sequence, int index, bool on)
    {
        writer.BeginMessage(RouteMessageType.SetLink, RequestFlags.Change, sequence);
        WriteInfoHeader(ref writer, Family.Bridge, index);
        var protocolInfo = writer.BeginNested(LinkAttribute.ProtocolInfo | NetlinkAttributeFlags.Nested);
        writer.WriteAttributeByte(LinkAttribute.BridgePortMode, on ? (byte)1 : (byte)0);
        writer.EndNested(protocolInfo);
    }

    public static void Delete(ref NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RouteMessageType.DeleteLink, RequestFlags.Change, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, index);
    }

    /// <summary>A delete whose unlisting the kernel echoes back to the sender (NLM_F_ECHO, Linux 6.1+).</summary>
    public static void DeleteEchoed(ref NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RouteMessageType.DeleteLink, RequestFlags.Change | NetlinkFlags.Echo, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, index);
    }

    public static void GetByName(ref NetlinkMessageWriter writer, uint sequence, string name)
    {
        writer.BeginMessage(RouteMessageType.GetLink, RequestFlags.Get, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, 0);
        writer.WriteAttributeString(LinkAttribute.Name, name);
        writer.WriteAttributeUInt32(LinkAttribute.ExtendedMask, ExtendedFilter.SkipStats);
    }

    public static void GetByIndex(ref NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RouteMessageType.GetLink, RequestFlags.Get, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, index);
        writer.WriteAttributeUInt32(LinkAttribute.ExtendedMask, ExtendedFilter.SkipStats);
    }

    public static void Dump(ref NetlinkMessageWriter writer, uint sequence)
    {
        writer.BeginMessage(RouteMessageType.GetLink, RequestFlags.Dump, sequence);
        WriteInfoHeader(ref writer, Family.Unspecified, 0);
        writer.WriteAttributeUInt32(LinkAttribute.ExtendedMask, ExtendedFilter.SkipStats);
    }

    public static Link Parse(in NetlinkMessage message)
    {
        var payload = message.Payload;
        if (payload.Length < InfoHeaderLength)
        {
            throw new InvalidDataException("RTM_NEWLINK reply shorter than struct ifinfomsg");
        }

        var index = HostOrder.ReadInt32(payload[4..]);
        var flags = HostOrder.ReadUInt32(payload[8..]);
        string name = "";
        string kind = "";
        var mtu = 0;
        byte[] mac = [];
        int? master = null;
        int? peer = null;
        int? netnsId = null;
        VxlanSettings? vxlan = null;

        var attributes = message.Attributes(InfoHeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case LinkAttribute.Name:
                    name = AttributeValue.ReadString(value);
                    break;
                case LinkAttribute.Mtu:
                    mtu = HostOrder.ReadInt32(value);
                    break;
                case LinkAttribute.Address:
                    mac = value.ToArray();
                    break;
                case LinkAttribute.Master:
                    master = HostOrder.ReadInt32(value);
                    break;
                case LinkAttribute.Link:
                    peer = HostOrder.ReadInt32(value);
                    break;
                case LinkAttribute.LinkNetNsId:
                    netnsId = HostOrder.ReadInt32(value);
                    break;
                case LinkAttribute.LinkInfo:
                    var info = new AttributeReader(value);
                    while (info.TryRead(out var infoType, out var infoValue))
                    {
                        if (infoType == LinkAttribute.InfoKind)
                        {
                            kind = AttributeValue.ReadString(infoValue);
                        }
                        else if (infoType == LinkAttribute.InfoData && kind == "vxlan")
                        {
                            // IFLA_INFO_KIND precedes IFLA_INFO_DATA in every dump (rtnl_link_info_fill).
                            vxlan = ParseVxlan(infoValue);
                        }
                    }

                    break;
            }
        }

        return new Link(index, name, kind, mtu, mac, (flags & InterfaceFlags.Up) != 0, master, peer, netnsId, flags) { Vxlan = vxlan };
    }

    internal static VxlanSettings ParseVxlan(ReadOnlySpan<byte> data)
    {
        var vni = 0;
        System.Net.IPAddress? local = null;
        System.Net.IPAddress? group = null;
        int? underlay = null;
        ushort port = 0;
        var learning = false;
        var attributes = new AttributeReader(data);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case VxlanAttribute.Id:
                    vni = HostOrder.ReadInt32(value);
                    break;
                case VxlanAttribute.Local or VxlanAttribute.Local6:
                    local = AttributeValue.ReadAddress(value);
                    break;
                case VxlanAttribute.Group or VxlanAttribute.Group6:
                    group = AttributeValue.ReadAddress(value);
                    break;
                case VxlanAttribute.Link:
                    underlay = HostOrder.ReadInt32(value);
                    break;
                case VxlanAttribute.Port:
                    port = BinaryPrimitives.ReadUInt16BigEndian(value);
                    break;
                case VxlanAttribute.Learning:
                    learning = value.Length > 0 && value[0] != 0;
                    break;
            }
        }

        return new VxlanSettings { Vni = vni, Local = local, Group = group, UnderlayIndex = underlay, Port = port, Learning = learning };
    }
}
