using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

internal static partial class LibBpf
{
    /// <summary>The program's descriptor, owned by its bpf_object (valid after load, closed with the object).</summary>
    [LibraryImport(Library, EntryPoint = "bpf_program__fd")]
    public static partial int ProgramFd(IntPtr program);

    /// <summary>int bpf_obj_pin(int fd, const char *pathname): pins any BPF object (map or program) in a bpffs.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_obj_pin", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ObjPin(int fd, string path);

    /// <summary>int bpf_obj_get(const char *pathname): a new descriptor for a pinned object.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_obj_get", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ObjGet(string path);
}
