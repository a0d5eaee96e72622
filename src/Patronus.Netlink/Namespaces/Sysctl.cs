namespace Patronus.Netlink;

/// <summary>
/// Reads and writes /proc/sys in the calling thread's network namespace (inside <see cref="NetNs.Run{T}"/>
/// for another namespace: net.* sysctls are per namespace, and /proc/sys/net follows the thread's).
/// </summary>
public static class Sysctl
{
    /// <summary>Writes a sysctl. Keys use dots ("net.ipv4.ip_forward") or slashes
    /// ("net/ipv4/conf/eth0.100/forwarding"; needed when an interface name holds a dot).</summary>
    public static void Write(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var path = PathOf(key);
        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException e)
        {
            throw new IOException($"write sysctl {key}={value}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"write sysctl {key}={value}: {e.Message}", e);
        }
    }

    public static string Read(string key)
    {
        var path = PathOf(key);
        try
        {
            return File.ReadAllText(path).TrimEnd('\n');
        }
        catch (IOException e)
        {
            throw new IOException($"read sysctl {key}: {e.Message}", e);
        }
    }

    private static string PathOf(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Contains("..") || key.StartsWith('/'))
        {
            throw new ArgumentException($"sysctl key \"{key}\" is invalid", nameof(key));
        }

        return "/proc/sys/" + (key.Contains('/') ? key : key.Replace('.', '/'));
    }
}
