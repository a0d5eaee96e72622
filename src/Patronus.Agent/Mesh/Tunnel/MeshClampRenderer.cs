using Patronus.Agent.Datapath.Nftables;

namespace Patronus.Agent.Mesh.Tunnel;

/// <summary>
/// The gateway's own nftables table, <c>inet patronus_mesh</c>: TCP MSS clamping to the route's MTU for SYNs that
/// leave through the tunnel, forwarded (pods) or sent by this host (a site). Pure; replaced whole in one transaction
/// (<see cref="NftablesSession.ReplaceTable"/>).
/// </summary>
public static class MeshClampRenderer
{
    public const string Table = "inet patronus_mesh";

    /// <summary>The table's hooked chains, kept across replacements; mangle is priority -150.</summary>
    internal static readonly IReadOnlyList<KernelChain> BaseChains =
    [
        new("forward", "filter", "forward", -150, "accept"),
        new("output", "filter", "output", -150, "accept"),
    ];

    public static string Render(IReadOnlyList<string> interfaces)
    {
        var name = interfaces.Count == 1 ? Quote(interfaces[0]) : "{ " + string.Join(", ", interfaces.Select(Quote)) + " }";
        return $"table {Table} {{\n"
            + "\tchain forward {\n"
            + "\t\ttype filter hook forward priority mangle; policy accept;\n"
            + $"\t\toifname {name} tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n"
            + "\t}\n"
            + "\tchain output {\n"
            + "\t\ttype filter hook output priority mangle; policy accept;\n"
            + $"\t\toifname {name} tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n"
            + "\t}\n"
            + "}\n";
    }

    public static string RenderRemoval() => $"table {Table}\ndelete table {Table}\n";

    // Interface names reach the script from configuration: quoted, and refused if they could break out of the quotes.
    private static string Quote(string @interface) =>
        @interface.Any(c => c is '"' or '\\' or '\n' or ';') || @interface.Length is 0 or > 15
            ? throw new ArgumentException($"interface name '{@interface}' cannot be used in an nftables rule", nameof(@interface))
            : $"\"{@interface}\"";
}
