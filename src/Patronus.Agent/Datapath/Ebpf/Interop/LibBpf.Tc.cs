using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

/// <summary>enum bpf_tc_attach_point.</summary>
internal enum TcAttachPoint
{
    Ingress = 1 << 0,
    Egress = 1 << 1,
    Custom = 1 << 2,
}

/// <summary>struct bpf_tc_hook (libbpf.h): a clsact qdisc hook on one device.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcHook
{
    public nuint Size;
    public int IfIndex;
    public TcAttachPoint AttachPoint;
    public uint Parent;
    private readonly uint _padding;
}

/// <summary>struct bpf_tc_opts (libbpf.h): one cls_bpf filter in direct-action mode.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcOptions
{
    /// <summary>BPF_TC_F_REPLACE: swap the program of an existing filter (same handle and priority) in place.</summary>
    public const uint Replace = 1;

    public nuint Size;
    public int ProgramFd;
    public uint Flags;
    public uint ProgramId;
    public uint Handle;
    public uint Priority;
    private readonly uint _padding;
}

internal static partial class LibBpf
{
    /// <summary>Adds the clsact qdisc; -EEXIST when it is there already.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_tc_hook_create", SetLastError = true)]
    public static partial int TcHookCreate(ref TcHook hook);

    [LibraryImport(Library, EntryPoint = "bpf_tc_attach", SetLastError = true)]
    public static partial int TcAttach(ref TcHook hook, ref TcOptions options);
}
