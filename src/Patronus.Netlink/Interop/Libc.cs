namespace Patronus.Netlink.Interop;

/// <summary>
/// Raw libc entry points. Every import sets the last error; callers turn a failure into an exception
/// through <see cref="NetlinkException.FromLastError"/> and nowhere else.
/// </summary>
internal static partial class Libc
{
    internal const string Name = "libc";
}
