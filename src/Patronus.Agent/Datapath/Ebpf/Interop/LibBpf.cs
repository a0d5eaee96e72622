namespace Patronus.Agent.Datapath.Ebpf.Interop;

/// <summary>
/// The libbpf entry points the eBPF datapath uses (Debian libbpf1, 1.x: functions return a negative errno,
/// or NULL with errno set). Every call is checked by <see cref="BpfException.Check"/>, the one place errno
/// becomes an exception. One file per concern: objects, programs, maps, element access, tc.
/// </summary>
internal static partial class LibBpf
{
    private const string Library = "libbpf.so.1";
}
