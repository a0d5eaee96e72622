using Patronus.Policy.Compiled;

namespace Patronus.Policy.Compiler;

/// <summary>
/// Deep equality of compiled forms, so that only endpoints whose rules really changed are reported.
/// The compiler shares peer lists and rules between endpoints, so reference checks settle most comparisons.
/// Indexed loops rather than LINQ: this runs for every candidate endpoint of every update.
/// </summary>
internal static class CompiledEquality
{
    public static bool Same(EndpointPolicy a, EndpointPolicy b) =>
        ReferenceEquals(a, b) ||
        (a.Endpoint == b.Endpoint && SameList(a.Addresses, b.Addresses, static (x, y) => x.Equals(y)) &&
         Same(a.Ingress, b.Ingress) && Same(a.Egress, b.Egress));

    public static bool Same(DirectionPolicy a, DirectionPolicy b) =>
        ReferenceEquals(a, b) ||
        (a.Isolated == b.Isolated && SameList(a.IsolatedBy, b.IsolatedBy, static (x, y) => x == y) && SameList(a.Rules, b.Rules, Same));

    public static bool Same(AllowRule a, AllowRule b) =>
        ReferenceEquals(a, b) ||
        (a.Origin == b.Origin && SameList(a.Peers, b.Peers, SameCidr) && SameList(a.Ports, b.Ports, static (x, y) => x == y));

    private static bool SameCidr(CidrMatch a, CidrMatch b) =>
        ReferenceEquals(a, b) || (a.Network == b.Network && SameList(a.Except, b.Except, static (x, y) => x == y));

    private static bool SameList<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b, Func<T, T, bool> same)
    {
        if (ReferenceEquals(a, b))
            return true;
        if (a is null || b is null || a.Count != b.Count)
            return false;
        for (var i = 0; i < a.Count; i++)
            if (!same(a[i], b[i]))
                return false;
        return true;
    }
}
