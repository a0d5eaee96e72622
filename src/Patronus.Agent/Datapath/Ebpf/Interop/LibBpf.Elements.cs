using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

internal static unsafe partial class LibBpf
{
    /// <summary>BPF_ANY: create or replace.</summary>
    public const ulong UpdateAny = 0;

    [LibraryImport(Library, EntryPoint = "bpf_map_update_elem", SetLastError = true)]
    public static partial int MapUpdateElem(int fd, byte* key, byte* value, ulong flags);

    [LibraryImport(Library, EntryPoint = "bpf_map_lookup_elem", SetLastError = true)]
    public static partial int MapLookupElem(int fd, byte* key, byte* value);

    [LibraryImport(Library, EntryPoint = "bpf_map_delete_elem", SetLastError = true)]
    public static partial int MapDeleteElem(int fd, byte* key);

    /// <summary>The key after <paramref name="key"/> (the first key when it is NULL); -ENOENT after the last.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_map_get_next_key", SetLastError = true)]
    public static partial int MapGetNextKey(int fd, byte* key, byte* nextKey);
}
