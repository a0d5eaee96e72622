namespace Patronus.Mesh.Identity;

/// <summary>What a member id may be: a DNS label, as Kubernetes names and the seed's cluster ids are.</summary>
public static class MemberIds
{
    public static bool Valid(string id) =>
        id.Length is > 0 and <= 63
        && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && id[0] != '-' && id[^1] != '-';
}
