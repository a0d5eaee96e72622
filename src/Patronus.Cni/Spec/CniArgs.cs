namespace Patronus.Cni.Spec;

/// <summary>
/// <c>CNI_ARGS</c>: <c>KEY=VALUE</c> pairs separated by <c>;</c>, in any order. The keys Kubernetes sends are
/// known; any other key is an error unless <c>IgnoreUnknown</c> is true (the convention of libcni's
/// <c>LoadArgs</c>, which kubelet relies on when it passes keys a plugin may not know).
/// </summary>
public sealed record CniArgs(
    string? PodNamespace,
    string? PodName,
    string? PodInfraContainerId,
    string? PodUid,
    bool IgnoreUnknown)
{
    public static readonly CniArgs Empty = new(null, null, null, null, false);

    public static CniArgs Parse(string? raw)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return Empty;
        }

        var pairs = new List<(string Key, string Value)>();
        foreach (var part in raw.Split(';'))
        {
            if (part.Length == 0)
            {
                continue;
            }

            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment,
                    $"CNI_ARGS: \"{part}\" is not a KEY=VALUE pair");
            }

            pairs.Add((part[..eq], part[(eq + 1)..]));
        }

        var ignoreUnknown = false;
        foreach (var (key, value) in pairs)
        {
            if (key == "IgnoreUnknown")
            {
                ignoreUnknown = ParseBool(value);
            }
        }

        string? ns = null, name = null, infra = null, uid = null;
        foreach (var (key, value) in pairs)
        {
            switch (key)
            {
                case "IgnoreUnknown": break;
                case "K8S_POD_NAMESPACE": ns = value; break;
                case "K8S_POD_NAME": name = value; break;
                case "K8S_POD_INFRA_CONTAINER_ID": infra = value; break;
                case "K8S_POD_UID": uid = value; break;
                default:
                    if (!ignoreUnknown)
                    {
                        throw new CniException(CniErrorCode.InvalidEnvironment,
                            $"CNI_ARGS: unknown key \"{key}\" (set IgnoreUnknown=true to allow it)");
                    }

                    break;
            }
        }

        return new CniArgs(ns, name, infra, uid, ignoreUnknown);
    }

    private static bool ParseBool(string value) => value.ToLowerInvariant() switch
    {
        "1" or "t" or "true" => true,
        "0" or "f" or "false" or "" => false,
        _ => throw new CniException(CniErrorCode.InvalidEnvironment,
            $"CNI_ARGS: IgnoreUnknown=\"{value}\" is not a boolean"),
    };
}
