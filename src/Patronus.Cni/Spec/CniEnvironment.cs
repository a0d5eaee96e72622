namespace Patronus.Cni.Spec;

/// <summary>
/// The <c>CNI_*</c> variables a runtime sets for one invocation, checked against what the verb requires
/// (SPEC.md section 2, "Parameters"). Every failure is code 4 and names the variable.
/// </summary>
public sealed record CniEnvironment(
    CniCommand Command,
    string ContainerId,
    string? NetNs,
    string IfName,
    CniArgs Args,
    IReadOnlyList<string> Path)
{
    public const int MaxIfNameLength = InterfaceName.MaxBytes;

    public static CniEnvironment Read(Func<string, string?> get)
    {
        var commandText = get("CNI_COMMAND");
        if (string.IsNullOrEmpty(commandText))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_COMMAND is not set");
        }

        var command = commandText switch
        {
            "ADD" => CniCommand.Add,
            "DEL" => CniCommand.Del,
            "CHECK" => CniCommand.Check,
            "GC" => CniCommand.Gc,
            "STATUS" => CniCommand.Status,
            "VERSION" => CniCommand.Version,
            _ => throw new CniException(CniErrorCode.InvalidEnvironment,
                $"CNI_COMMAND \"{commandText}\" is not one of ADD, DEL, CHECK, GC, STATUS, VERSION"),
        };

        var perAttachment = command is CniCommand.Add or CniCommand.Del or CniCommand.Check;
        var containerId = get("CNI_CONTAINERID");
        var netns = get("CNI_NETNS");
        var ifName = get("CNI_IFNAME");
        if (perAttachment)
        {
            containerId = Required("CNI_CONTAINERID", containerId, commandText);
            ValidateContainerId(containerId);
            ifName = Required("CNI_IFNAME", ifName, commandText);
            ValidateIfName(ifName, "CNI_IFNAME");
            if (command != CniCommand.Del)
            {
                netns = Required("CNI_NETNS", netns, commandText);
            }
        }

        var path = (get("CNI_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var args = perAttachment ? CniArgs.Parse(get("CNI_ARGS")) : CniArgs.Empty;
        return new CniEnvironment(command, containerId ?? "", string.IsNullOrEmpty(netns) ? null : netns,
            ifName ?? "", args, path);
    }

    private static string Required(string name, string? value, string command) =>
        string.IsNullOrEmpty(value)
            ? throw new CniException(CniErrorCode.InvalidEnvironment, $"{name} is required for {command} but is not set")
            : value;

    /// <summary>SPEC.md: "alphanumeric plus underscore, period and hyphen", starting with an alphanumeric.</summary>
    public static void ValidateContainerId(string id)
    {
        var ok = char.IsAsciiLetterOrDigit(id[0]);
        foreach (var c in id)
        {
            ok &= char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-';
        }

        if (!ok)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment,
                $"CNI_CONTAINERID \"{id}\" may only hold letters, digits, '_', '.' and '-', and must start with a letter or digit");
        }
    }

    /// <summary>Linux's rule for interface names (see <see cref="InterfaceName"/>), which the spec repeats.</summary>
    public static void ValidateIfName(string name, string field)
    {
        if (InterfaceName.Problem(name, field) is { } problem)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, problem);
        }
    }
}
