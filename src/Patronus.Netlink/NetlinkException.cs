using System.Runtime.InteropServices;
using Patronus.Netlink.Interop;

namespace Patronus.Netlink;

/// <summary>
/// A failed system call or a kernel refusal. <see cref="Exception.Message"/> reads
/// "&lt;operation&gt; &lt;object&gt;: &lt;strerror&gt; (&lt;kernel's extended ack text&gt;)".
/// </summary>
public sealed class NetlinkException : Exception
{
    public NetlinkException(string operation, string target, int errno, string? kernelMessage = null)
        : base(Format(operation, target, errno, kernelMessage))
    {
        Operation = operation;
        Target = target;
        Errno = errno;
        KernelMessage = kernelMessage;
    }

    /// <summary>The positive errno value (ENOENT = 2, EEXIST = 17, ...).</summary>
    public int Errno { get; }

    /// <summary>The kernel's extended acknowledgement text (NLMSGERR_ATTR_MSG), when it sent one.</summary>
    public string? KernelMessage { get; }

    public string Operation { get; }

    public string Target { get; }

    /// <summary>The object (or namespace, or device) does not exist: ENOENT, ENODEV or ESRCH.</summary>
    public bool IsNotFound => Errno is Interop.Errno.ENOENT or Interop.Errno.ENODEV or Interop.Errno.ESRCH;

    /// <summary>The object already exists: EEXIST.</summary>
    public bool IsExists => Errno == Interop.Errno.EEXIST;

    /// <summary>The one place where a failed libc call's errno becomes an exception.</summary>
    internal static NetlinkException FromLastError(string operation, string target)
        => new(operation, target, Marshal.GetLastPInvokeError());

    private static string Format(string operation, string target, int errno, string? kernelMessage)
    {
        var text = $"{operation} {target}: {Marshal.GetPInvokeErrorMessage(errno)}";
        return string.IsNullOrEmpty(kernelMessage) ? text : $"{text} ({kernelMessage})";
    }
}
