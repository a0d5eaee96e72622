namespace Patronus.Agent.Mesh.Tunnel;

/// <summary>
/// The gateway's own nftables table, <c>inet patronus_mesh</c>: TCP MSS clamping to the route's MTU for SYNs that
/// leave through the tunnel, forwarded (pods) or sent by this host (a site). Pure; replaced whole in one transaction.
/// </summary>
public static class MeshClampRenderer
{
    public const string Table = "inet patronus_mesh";

    public static string Render(IReadOnlyList<string> interfaces)
    {
        var name = interfaces.Count == 1 ? Quote(interfaces[0]) : "{ " + string.Join(", ", interfaces.Select(Quote)) + " }";
        return $"table {Table}\n"
            + $"delete table {Table}\n"
            + $"table {Table} {{\n"
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
