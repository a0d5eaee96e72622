using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Plumbing;

/// <summary>
/// Opens the namespace <c>CNI_NETNS</c> names, for ADD and CHECK. It must be a network namespace (a FIFO, a
/// regular file or a device there is refused at once, never opened for reading: see <see cref="NetNs.OpenPath"/>)
/// and not the plugin's own: the runtime runs the plugin in the node's namespace, and a pod interface put there
/// would take over the node's default route. DEL never opens it (it cleans up by container id and interface name).
/// </summary>
public static class NetnsPath
{
    /// <summary>Opens the pod's namespace for ADD; missing, not a network namespace, or the node's own is code 4.</summary>
    public static NetNs Open(string path) =>
        TryOpen(path) ?? throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" does not exist");

    /// <summary>Like <see cref="Open"/>, but a path that does not exist gives null (CHECK reports that as code 3).</summary>
    public static NetNs? TryOpen(string path)
    {
        NetNs ns;
        try
        {
            ns = NetNs.OpenPath(path);
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            return null;
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" cannot be opened: {e.Message}");
        }
        catch (ArgumentException)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" is not a network namespace");
        }

        try
        {
            using var own = NetNs.Current();
            if (ns.IsSameNamespaceAs(own))
            {
                throw new CniException(CniErrorCode.InvalidEnvironment,
                    $"CNI_NETNS \"{path}\" is the plugin's own network namespace (the node's); a pod needs a namespace of its own");
            }
        }
        catch
        {
            ns.Dispose();
            throw;
        }

        return ns;
    }
}
