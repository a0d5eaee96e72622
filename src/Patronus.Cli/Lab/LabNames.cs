using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Patronus.Cli.Lab;

/// <summary>
/// How everything a lab makes is named. Like kind, every network namespace starts with the lab's name and a
/// dot (lab names have no dots, so the prefix of one lab never matches another's), which is how
/// <c>lab down</c> finds what a crashed build left behind even without its state record. Interface names
/// stay short (at most 15 bytes) because each lives in a namespace of its own lab.
/// </summary>
public static partial class LabNames
{
    public const string DefaultLab = "patronus";

    /// <summary>The namespaces of one lab: everything whose name starts with this.</summary>
    public static string Prefix(string lab) => lab + ".";

    public static string Fabric(string lab) => $"{lab}.fabric";

    public static string Router(string lab) => $"{lab}.router";

    public static string Internet(string lab) => $"{lab}.internet";

    public static string Node(string lab, string cluster, string node) => $"{lab}.{cluster}.{node}";

    /// <summary>A WAN link's namespace, <c>LAB.wan-ID</c>: two parts, so it never collides with a node's (three) or a pod's (four).</summary>
    public static string WanLink(string lab, string link) => $"{lab}.wan-{link}";

    // A WAN link's interfaces: in its namespace, a bridge per side, the relay's port on each and a port per gateway;
    // in a gateway node, one interface per link it is on.
    public static string WanSideBridge(int side) => side == 0 ? "side-a" : "side-b";

    public static string WanRelayPort(int side) => side == 0 ? "relay-a" : "relay-b";

    public static string WanBridgeRelayPort(int side) => side == 0 ? "br-relay-a" : "br-relay-b";

    public static string WanGatewayPort(int node) => $"gw{node}";

    public static string WanNodeInterface(int link) => $"wan{link}";

    /// <summary>
    /// A gateway's WireGuard interface: unique on the machine, since wireguard-go's UAPI sockets live in the machine-wide
    /// /var/run/wireguard; at most 15 bytes.
    /// </summary>
    public static string MeshInterface(string lab, string cluster, string node) =>
        "wg-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{lab}.{cluster}.{node}")))[..12];

    /// <summary>
    /// <c>LAB.CLUSTER.NAMESPACE.POD</c>: namespaces are DNS labels (no dots), so no pod's name can collide with a
    /// node's (three parts) or another pod's. Very long pod names are shortened with a hash to stay a usable file name.
    /// </summary>
    public static string Pod(string lab, string cluster, string ns, string pod)
    {
        var name = $"{lab}.{cluster}.{ns}.{pod}";
        if (name.Length <= 200)
            return name;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..16];
        return $"{name[..183]}-{hash}";
    }

    // Interfaces, each unique inside its own namespace.
    public const string Uplink = "eth0";
    public const string RouterToInternet = "inet0";

    public static string SubnetBridge(int subnet) => $"sub{subnet}";

    public static string FabricNodePort(int node) => $"node{node}";

    public static string FabricRouterPort(int subnet) => $"rtr{subnet}";

    public static string RouterLeg(int subnet) => $"sub{subnet}";

    public static string? CheckLabName(string name) =>
        LabName().IsMatch(name) ? null : $"\"{name}\" is not a lab name: 1-32 lower-case letters, digits and '-', starting and ending with a letter or digit";

    public static string? CheckClusterId(string id) =>
        Label().IsMatch(id) && id.Length <= 40 ? null : $"\"{id}\" is not a cluster id: 1-40 lower-case letters, digits and '-', starting and ending with a letter or digit";

    public static string? CheckLinkId(string id) =>
        Label().IsMatch(id) && id.Length <= 32 ? null : $"\"{id}\" is not a link id: 1-32 lower-case letters, digits and '-', starting and ending with a letter or digit";

    public static string? CheckNodeName(string name) =>
        Label().IsMatch(name) && name.Length <= 63 ? null : $"\"{name}\" is not a node name: 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit";

    public static string? CheckSubnetName(string name) =>
        Label().IsMatch(name) && name.Length <= 32 ? null : $"\"{name}\" is not a subnet name: 1-32 lower-case letters, digits and '-', starting and ending with a letter or digit";

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")]
    private static partial Regex LabName();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex Label();
}
