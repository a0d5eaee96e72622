using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf;

/// <summary>A BPF operation failed; the message says what was attempted, on which object, and the kernel's reason.</summary>
public sealed class BpfException(string message, int errno) : Exception(message)
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EEXIST = 17;
    public const int EINVAL = 22;

    /// <summary>The errno the kernel or libbpf reported.</summary>
    public int Errno { get; } = errno;

    /// <summary>The one place a libbpf result becomes an exception: libbpf 1.x returns -errno on failure.</summary>
    public static int Check(int result, string what)
    {
        if (result < 0)
            throw Create(what, -result);
        return result;
    }

    /// <summary>For calls that return NULL or -1 and set errno.</summary>
    public static BpfException FromLastError(string what) => Create(what, Marshal.GetLastPInvokeError());

    private static BpfException Create(string what, int errno)
    {
        var hint = errno switch
        {
            EPERM => " (needs root, or CAP_BPF and CAP_NET_ADMIN)",
            _ => "",
        };
        return new BpfException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}){hint}", errno);
    }
}
