namespace Patronus.Cni.Spec;

/// <summary>Error codes of the CNI specification (SPEC.md, "Error": well-known error codes).</summary>
public enum CniErrorCode
{
    IncompatibleVersion = 1,
    UnsupportedField = 2,
    ContainerUnknown = 3,
    InvalidEnvironment = 4,
    IoFailure = 5,
    DecodeFailure = 6,
    InvalidNetworkConfig = 7,
    TryAgainLater = 11,
    PluginNotAvailable = 50,
    LimitedConnectivity = 51,
}

/// <summary>
/// A failure the plugin reports to the runtime as the spec's error JSON on stdout. The message names
/// what was wrong (a config field, an environment variable, an interface) so an operator can fix it.
/// </summary>
public sealed class CniException(CniErrorCode code, string message, string? details = null, Exception? inner = null)
    : Exception(message, inner)
{
    public CniErrorCode Code { get; } = code;

    public string? Details { get; } = details;
}
