namespace Patronus.Agent.Datapath.Ebpf;

/// <summary>The eBPF datapath cannot run on this machine; the message says what is missing.</summary>
public sealed class EbpfUnavailableException(string message) : Exception(message);

/// <summary>What the eBPF datapath needs before it tries to load anything.</summary>
public static class EbpfSupport
{
    public const string KernelBtf = "/sys/kernel/btf/vmlinux";

    /// <summary>Why eBPF cannot be used here, or null when nothing known is missing (loading may still refuse, with its own reason).</summary>
    public static string? Missing()
    {
        if (!OperatingSystem.IsLinux())
            return "eBPF needs Linux";
        // The programs use BTF-defined maps; a kernel without its own BTF is too old or built without
        // CONFIG_DEBUG_INFO_BTF, and is not one this datapath has been verified on.
        if (!File.Exists(KernelBtf))
            return $"the kernel exposes no BTF ({KernelBtf} is missing: CONFIG_DEBUG_INFO_BTF is off)";
        if (!Environment.IsPrivilegedProcess)
            return "loading BPF programs and attaching them to interfaces needs root (or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)";
        return null;
    }
}
