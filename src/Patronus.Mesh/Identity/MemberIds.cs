namespace Patronus.Mesh.Identity;

/// <summary>What a member id may be: a DNS label, as Kubernetes names and the seed's cluster ids are.</summary>
public static class MemberIds
{
    public static bool Valid(string id) =>
        id.Length is > 0 and <= 63
        && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && id[0] != '-' && id[^1] != '-';

    /// <summary>
    /// A gateway's name in announcements, from its Node's name: the name itself, or its first label when the name
    /// is a DNS subdomain (<c>ip-10-0-0-1.ec2.internal</c> → <c>ip-10-0-0-1</c>): an announcement names a gateway
    /// with one DNS label, and the nodes of one cluster differ in their first label in every naming scheme in use.
    /// Remote members choose among a member's gateways in the order of these names, so the nodes of the member
    /// order them the same way.
    /// </summary>
    /// <exception cref="InvalidDataException">The name does not start with a DNS label.</exception>
    public static string GatewayNameOf(string nodeName)
    {
        var label = FirstLabel(nodeName);
        return Valid(label)
            ? label
            : throw new InvalidDataException($"node name '{nodeName}' does not start with a DNS label (lower-case letters, digits and '-'): a gateway is announced under that label");
    }

    /// <summary>The first label of a name, lower-cased: a gateway's name when it is a valid one.</summary>
    public static string FirstLabel(string nodeName) => nodeName.Split('.')[0].ToLowerInvariant();
}
