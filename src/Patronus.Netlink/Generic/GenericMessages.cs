using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Generic;

/// <summary>
/// Encodes generic netlink requests: the netlink header with the family id as message type, struct genlmsghdr
/// (u8 cmd, u8 version, u16 reserved), then the family's attributes (linux/genetlink.h). The controller family
/// (nlctrl, fixed id 0x10) resolves other families' names to ids.
/// </summary>
internal static class GenericMessages
{
    internal const int HeaderLength = 4;

    internal const ushort ControllerId = 0x10;

    private const byte CommandGetFamily = 3;

    private const ushort AttributeFamilyId = 1;
    private const ushort AttributeFamilyName = 2;
    private const ushort AttributeVersion = 3;
    private const ushort AttributeHeaderSize = 4;
    private const ushort AttributeMaxAttribute = 5;
    private const ushort AttributeMulticastGroups = 7;

    private const ushort MulticastGroupName = 1;
    private const ushort MulticastGroupId = 2;

    public static void Begin(ref NetlinkMessageWriter writer, ushort familyId, ushort flags, uint sequence, byte command, byte version)
    {
        writer.BeginMessage(familyId, flags, sequence);
        writer.WriteByte(command);
        writer.WriteByte(version);
        writer.WriteUInt16(0);
    }

    /// <summary>CTRL_CMD_GETFAMILY by name; byte for byte what `genl ctrl get name NAME` sends (version 0, with ack).</summary>
    public static void GetFamily(ref NetlinkMessageWriter writer, uint sequence, string name)
    {
        Begin(ref writer, ControllerId, NetlinkFlags.Request | NetlinkFlags.Ack, sequence, CommandGetFamily, 0);
        writer.WriteAttributeString(AttributeFamilyName, name);
    }

    public static void DumpFamilies(ref NetlinkMessageWriter writer, uint sequence)
        => Begin(ref writer, ControllerId, RequestFlags.Dump, sequence, CommandGetFamily, 0);

    /// <summary>Decodes a CTRL_CMD_NEWFAMILY reply.</summary>
    public static GenericFamily ParseFamily(in NetlinkMessage message)
    {
        if (message.Payload.Length < HeaderLength)
        {
            throw new InvalidDataException("generic netlink reply shorter than struct genlmsghdr");
        }

        ushort id = 0;
        var name = "";
        uint version = 0;
        uint headerSize = 0;
        uint maxAttribute = 0;
        var groups = new Dictionary<string, uint>(StringComparer.Ordinal);
        var attributes = message.Attributes(HeaderLength);
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case AttributeFamilyId:
                    id = HostOrder.ReadUInt16(value);
                    break;
                case AttributeFamilyName:
                    name = AttributeValue.ReadString(value);
                    break;
                case AttributeVersion:
                    version = HostOrder.ReadUInt32(value);
                    break;
                case AttributeHeaderSize:
                    headerSize = HostOrder.ReadUInt32(value);
                    break;
                case AttributeMaxAttribute:
                    maxAttribute = HostOrder.ReadUInt32(value);
                    break;
                case AttributeMulticastGroups:
                    // An array: each element is a nested attribute whose type is its index (from 1).
                    var elements = new AttributeReader(value);
                    while (elements.TryRead(out _, out var element))
                    {
                        string? groupName = null;
                        uint? groupId = null;
                        var fields = new AttributeReader(element);
                        while (fields.TryRead(out var field, out var fieldValue))
                        {
                            if (field == MulticastGroupName)
                            {
                                groupName = AttributeValue.ReadString(fieldValue);
                            }
                            else if (field == MulticastGroupId)
                            {
                                groupId = HostOrder.ReadUInt32(fieldValue);
                            }
                        }

                        if (groupName is not null && groupId is { } gid)
                        {
                            groups[groupName] = gid;
                        }
                    }

                    break;
            }
        }

        return new GenericFamily(id, name, version, headerSize, maxAttribute, groups);
    }
}
