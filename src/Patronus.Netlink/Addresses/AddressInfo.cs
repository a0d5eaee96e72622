using System.Net.Sockets;

namespace Patronus.Netlink;

/// <summary>IFA_F_* flags from linux/if_addr.h.</summary>
[Flags]
public enum AddressFlags : uint
{
    None = 0,
    Secondary = 0x01,
    NoDad = 0x02,
    Optimistic = 0x04,
    DadFailed = 0x08,
    HomeAddress = 0x10,
    Deprecated = 0x20,
    Tentative = 0x40,
    Permanent = 0x80,
    ManageTempAddress = 0x100,
    NoPrefixRoute = 0x200,
    McAutoJoin = 0x400,
}

/// <summary>One interface address as RTM_NEWADDR describes it.</summary>
/// <param name="Scope">rtm scope: 0 universe, 253 link, 254 host.</param>
public sealed record AddressInfo(int Index, IpPrefix Address, byte Scope, AddressFlags Flags, string? Label)
{
    public AddressFamily Family => Address.Family;
}
