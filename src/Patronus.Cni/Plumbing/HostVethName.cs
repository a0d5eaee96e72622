using System.Text;

namespace Patronus.Cni.Plumbing;

/// <summary>
/// The host end of an attachment's veth is named from the attachment itself, so a retried ADD, a DEL whose
/// namespace is gone, and GC all find it without state: <c>pat</c> + 12 hex digits of a hash of
/// (container id, interface name) = 15 characters, Linux's limit.
/// </summary>
public static class HostVethName
{
    public const string Prefix = "pat";

    /// <summary>The ifb device that shapes the attachment's egress (traffic from the pod).</summary>
    public const string IfbPrefix = "pib";

    public static string For(string containerId, string ifName) => Prefix + Hash(containerId, ifName);

    public static string IfbFor(string containerId, string ifName) => IfbPrefix + Hash(containerId, ifName);

    private static string Hash(string containerId, string ifName)
    {
        // FNV-1a, 64 bit: stable across runs and processes (string.GetHashCode is randomised), and no crypto
        // library, which under NativeAOT would pull in OpenSSL.
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes($"{containerId}\n{ifName}"))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return (hash & 0xFFFF_FFFF_FFFFUL).ToString("x12");
    }

    /// <summary>True for names this plugin could have made (GC only touches these).</summary>
    public static bool IsOurs(string name, string prefix = Prefix) =>
        name.Length == 15 && name.StartsWith(prefix, StringComparison.Ordinal)
        && name.AsSpan(3).IndexOfAnyExcept("0123456789abcdef") < 0;
}
