using System.Globalization;

namespace Patronus.Mesh.Tunnels;

/// <summary>
/// The names of a gateway's WireGuard devices, one per WAN path: the configured name for the first, <c>NAME-k</c> for
/// the k-th, the name cut so the whole fits Linux's 15 bytes. Shared by the agent (which makes them) and the lab
/// (which cleans up wireguard-go's machine-wide sockets after them).
/// </summary>
public static class DeviceNames
{
    public const int MaxLength = 15;

    public static string Of(string baseInterface, int index)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseInterface);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (index == 0)
            return baseInterface;
        var suffix = "-" + index.ToString(CultureInfo.InvariantCulture);
        return (baseInterface.Length + suffix.Length > MaxLength ? baseInterface[..(MaxLength - suffix.Length)] : baseInterface) + suffix;
    }
}
