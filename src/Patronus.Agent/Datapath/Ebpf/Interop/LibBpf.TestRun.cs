using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

/// <summary>struct bpf_test_run_opts (libbpf 1.x, bpf.h): what BPF_PROG_TEST_RUN runs a program on, and what it measured.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfTestRunOptions
{
    public nuint Size;
    public byte* DataIn;
    public byte* DataOut;
    public uint DataSizeIn;
    public uint DataSizeOut;
    public byte* ContextIn;
    public byte* ContextOut;
    public uint ContextSizeIn;
    public uint ContextSizeOut;
    public uint ReturnValue;
    public int Repeat;
    /// <summary>Mean time of one run in nanoseconds, measured by the kernel around the program alone (time spent rescheduled is left out).</summary>
    public uint Duration;
    public uint Flags;
    public uint Cpu;
    public uint BatchSize;
}

internal static partial class LibBpf
{
    /// <summary>int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts): runs a loaded program on a packet, for the benchmark.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_prog_test_run_opts", SetLastError = true)]
    public static partial int ProgramTestRun(int programFd, ref BpfTestRunOptions options);
}
