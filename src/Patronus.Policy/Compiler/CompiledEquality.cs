using Patronus.Policy.Compiled;

namespace Patronus.Policy.Compiler;

/// <summary>
/// Deep equality of compiled forms, so that only endpoints whose rules really changed are reported.
/// The compiler shares peer lists between endpoints, so reference checks settle most comparisons at once.
/// </summary>
internal static class CompiledEquality
{
    public static bool Same(EndpointPolicy a, EndpointPolicy b) =>
        ReferenceEquals(a, b) ||
        (a.Endpoint == b.Endpoint && a.Addresses.SequenceEqual(b.Addresses) && Same(a.Ingress, b.Ingress) && Same(a.Egress, b.Egress));

    public static bool Same(DirectionPolicy a, DirectionPolicy b)
    {
        if (ReferenceEquals(a, b))
            return true;
        if (a.Isolated != b.Isolated || !a.IsolatedBy.SequenceEqual(b.IsolatedBy) || a.Rules.Count != b.Rules.Count)
            return false;
        for (var i = 0; i < a.Rules.Count; i++)
            if (!Same(a.Rules[i], b.Rules[i]))
                return false;
        return true;
    }

    public static bool Same(AllowRule a, AllowRule b) =>
        ReferenceEquals(a, b) || (a.Origin == b.Origin && SamePeers(a.Peers, b.Peers) && SamePorts(a.Ports, b.Ports));

    private static bool SamePeers(IReadOnlyList<CidrMatch>? a, IReadOnlyList<CidrMatch>? b)
    {
        if (ReferenceEquals(a, b))
            return true;
        if (a is null || b is null || a.Count != b.Count)
            return false;
        for (var i = 0; i < a.Count; i++)
        {
            var x = a[i];
            var y = b[i];
            if (!ReferenceEquals(x, y) && (x.Network != y.Network || !x.Except.SequenceEqual(y.Except)))
                return false;
        }
        return true;
    }

    private static bool SamePorts(IReadOnlyList<PortMatch>? a, IReadOnlyList<PortMatch>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.SequenceEqual(b));
}
