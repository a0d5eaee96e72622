using System.Net.Sockets;
using Patronus.Netlink.Addresses;
using Patronus.Netlink.Protocol;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>
    /// Adds an address (fails with <see cref="NetlinkException.IsExists"/> when present). For IPv6,
    /// <see cref="AddressFlags.NoDad"/> makes it usable at once instead of after duplicate detection.
    /// </summary>
    public void AddrAdd(int index, IpPrefix address, AddressFlags flags = AddressFlags.None)
        => ModifyAddress(RouteMessageType.NewAddress, RequestFlags.Create, "add address", index, address, flags);

    /// <summary>Adds an address, or updates it when present.</summary>
    public void AddrReplace(int index, IpPrefix address, AddressFlags flags = AddressFlags.None)
        => ModifyAddress(RouteMessageType.NewAddress, RequestFlags.Replace, "replace address", index, address, flags);

    /// <summary>Deletes an address (EADDRNOTAVAIL when absent).</summary>
    public void AddrDel(int index, IpPrefix address)
        => ModifyAddress(RouteMessageType.DeleteAddress, RequestFlags.Change, "delete address", index, address, AddressFlags.None);

    /// <summary>Lists addresses, optionally of one link and one family.</summary>
    public IReadOnlyList<AddressInfo> AddrList(int? index = null, AddressFamily? family = null)
    {
        var familyByte = AddressMessages.FamilyByte(family);
        var writer = _socket.Writer();
        AddressMessages.Dump(ref writer, _socket.NextSequence(), familyByte);
        var all = new List<AddressInfo>();
        _socket.Dump(ref writer, "list", "addresses", all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewAddress)
            {
                list.Add(AddressMessages.Parse(message));
            }
        });
        if (index is null && family is null)
        {
            return all;
        }

        var selected = new List<AddressInfo>(all.Count);
        foreach (var address in all)
        {
            if ((index is null || address.Index == index) && (family is null || address.Family == family))
            {
                selected.Add(address);
            }
        }

        return selected;
    }

    private void ModifyAddress(ushort type, ushort flags, string operation, int index, IpPrefix address, AddressFlags addressFlags)
    {
        CheckIndex(index, nameof(index));
        address.Validate(nameof(address));
        var writer = _socket.Writer();
        AddressMessages.Write(ref writer, type, flags, _socket.NextSequence(), index, address, addressFlags);
        _socket.Execute(ref writer, $"{operation} {address} on", Describe(index));
    }
}
