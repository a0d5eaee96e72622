using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

internal static partial class LibBpf
{
    /// <summary>struct bpf_object *bpf_object__open(const char *path); NULL and errno on failure.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_object__open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial BpfObjectHandle ObjectOpen(string path);

    /// <summary>Creates (or reuses the pinned) maps, then loads every program through the verifier.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_object__load", SetLastError = true)]
    public static partial int ObjectLoad(BpfObjectHandle obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(IntPtr obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr FindProgramByName(BpfObjectHandle obj, string name);

    [LibraryImport(Library, EntryPoint = "bpf_object__next_map")]
    public static partial IntPtr NextMap(BpfObjectHandle obj, IntPtr previous);

    [LibraryImport(Library, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();
}
