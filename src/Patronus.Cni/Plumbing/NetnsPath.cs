using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Plumbing;

/// <summary>Checks that <c>CNI_NETNS</c> names a network namespace before anything is created for it.</summary>
public static partial class NetnsPath
{
    // linux/nsfs.h: NS_GET_NSTYPE = _IO(0xb7, 0x3); sched.h: CLONE_NEWNET.
    private const nuint NsGetNsType = 0xb703;
    private const int CloneNewNet = 0x40000000;

    /// <summary>True when the path exists and is a network namespace; false when it does not exist.</summary>
    public static bool Exists(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" cannot be opened: {e.Message}");
        }

        using (handle)
        {
            var type = Ioctl(handle, NsGetNsType);
            if (type != CloneNewNet)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment,
                    $"CNI_NETNS \"{path}\" is not a network namespace");
            }
        }

        return true;
    }

    /// <summary>Opens the pod's namespace for ADD and CHECK; missing or not a network namespace is code 4.</summary>
    public static Patronus.Netlink.NetNs Open(string path)
    {
        try
        {
            return Patronus.Netlink.NetNs.OpenPath(path);
        }
        catch (Patronus.Netlink.NetlinkException e) when (e.IsNotFound)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" does not exist");
        }
        catch (Patronus.Netlink.NetlinkException e)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" cannot be opened: {e.Message}");
        }
        catch (ArgumentException)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS \"{path}\" is not a network namespace");
        }
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(SafeFileHandle fd, nuint request);
}
