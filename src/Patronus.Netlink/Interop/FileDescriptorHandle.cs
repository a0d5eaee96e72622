using System.Runtime.InteropServices;

namespace Patronus.Netlink.Interop;

/// <summary>Owns one file descriptor; 0 is a valid descriptor, so only -1 is invalid. Closing it also drops any flock held through it.</summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle() : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    internal FileDescriptorHandle(int fd) : this()
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle == -1;

    internal int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
