using System.Text;
using System.Text.RegularExpressions;

namespace Patronus.Agent.Client.Protocol;

/// <summary>
/// What a registration must look like before the agent stores it: every name as Kubernetes and the CNI
/// spec define it. A name that could not come from a real pod (<c>"a b"</c>) is refused at the door, since
/// once stored it would travel into the datapath and fail every transaction that includes it.
/// </summary>
public static partial class EndpointValidation
{
    /// <summary>Bound on free-form fields (paths, ids), so no field costs the agent more than a few kilobytes.</summary>
    public const int MaxFieldLength = 4096;

    public const int MaxAddresses = 16;

    /// <summary>Null when the registration is acceptable; otherwise what is wrong, naming the field.</summary>
    public static string? Problem(EndpointRegistration endpoint)
    {
        if (string.IsNullOrEmpty(endpoint.ContainerId))
            return "field 'endpoint.containerId' is missing or empty";
        // CNI spec, "Parameters": alphanumeric first, then alphanumerics, '_', '.' and '-'.
        if (endpoint.ContainerId.Length > MaxFieldLength || !ContainerId().IsMatch(endpoint.ContainerId))
            return $"field 'endpoint.containerId' is '{Shown(endpoint.ContainerId)}'; expected letters, digits, '_', '.' and '-', starting with a letter or digit";
        if (string.IsNullOrEmpty(endpoint.IfName))
            return "field 'endpoint.ifName' is missing or empty";
        // CNI spec: at most IFNAMSIZ-1 (15) bytes, not '.' or '..', without '/', ':' or whitespace.
        if (Encoding.UTF8.GetByteCount(endpoint.IfName) > 15 || endpoint.IfName is "." or ".." ||
            endpoint.IfName.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
            return $"field 'endpoint.ifName' is '{Shown(endpoint.IfName)}', which is not an interface name (up to 15 bytes, no '/', ':' or whitespace)";
        if (string.IsNullOrEmpty(endpoint.PodNamespace))
            return "field 'endpoint.podNamespace' is missing or empty";
        if (endpoint.PodNamespace.Length > 63 || !DnsLabel().IsMatch(endpoint.PodNamespace))
            return $"field 'endpoint.podNamespace' is '{Shown(endpoint.PodNamespace)}', which is not a Kubernetes namespace name (up to 63 lowercase letters, digits and '-')";
        if (string.IsNullOrEmpty(endpoint.PodName))
            return "field 'endpoint.podName' is missing or empty";
        if (endpoint.PodName.Length > 253 || !DnsSubdomain().IsMatch(endpoint.PodName))
            return $"field 'endpoint.podName' is '{Shown(endpoint.PodName)}', which is not a Kubernetes pod name (up to 253 lowercase letters, digits, '-' and '.')";
        if (endpoint.Addresses is null || endpoint.Addresses.Count == 0)
            return "field 'endpoint.addresses' is empty";
        if (endpoint.Addresses.Count > MaxAddresses)
            return $"field 'endpoint.addresses' holds {endpoint.Addresses.Count} addresses; at most {MaxAddresses}";
        foreach (var address in endpoint.Addresses)
            if (address is null || !System.Net.IPNetwork.TryParse(address, out _))
                return $"field 'endpoint.addresses' holds '{Shown(address)}', which is not a CIDR such as 10.244.1.5/24";
        foreach (var (value, field) in new[] { (endpoint.Netns, "netns"), (endpoint.PodUid, "podUid"), (endpoint.Mac, "mac"), (endpoint.HostInterface, "hostInterface") })
            if (value is not null && (value.Length > MaxFieldLength || value.Any(char.IsControl)))
                return $"field 'endpoint.{field}' is longer than {MaxFieldLength} characters or holds control characters";
        return null;
    }

    /// <summary>A value as an error message may quote it: short, without control characters.</summary>
    private static string Shown(string? value)
    {
        if (value is null)
            return "null";
        var clean = new string(value.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > 80 ? clean + "..." : clean;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex ContainerId();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
