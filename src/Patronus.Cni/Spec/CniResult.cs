using System.Net;
using System.Net.Sockets;

namespace Patronus.Cni.Spec;

public sealed record CniInterface(string Name, string? Mac, string? Sandbox, int? Mtu = null);

/// <summary>One address of the result: <c>address</c> is the interface address with its prefix length (host bits kept).</summary>
public sealed record CniIpConfig(IPAddress Address, int PrefixLength, IPAddress? Gateway, int? Interface)
{
    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;

    public string Cidr => $"{Address}/{PrefixLength}";
}

public sealed record CniRoute(IPNetwork Destination, IPAddress? Gateway, int? Priority = null);

public sealed record CniDns(
    IReadOnlyList<string> Nameservers,
    string? Domain,
    IReadOnlyList<string> Search,
    IReadOnlyList<string> Options)
{
    public bool IsEmpty => Nameservers.Count == 0 && Domain is null && Search.Count == 0 && Options.Count == 0;
}

/// <summary>
/// The success result of ADD (SPEC.md section 5, "Success"), printed in the version the config asked for:
/// 0.3.x and 0.4.0 carry <c>ips[].version</c>, 1.x does not.
/// </summary>
public sealed record CniResult(
    string CniVersion,
    IReadOnlyList<CniInterface> Interfaces,
    IReadOnlyList<CniIpConfig> Ips,
    IReadOnlyList<CniRoute> Routes,
    CniDns? Dns)
{
    public CniResult WithVersion(string version) => this with { CniVersion = version };
}
