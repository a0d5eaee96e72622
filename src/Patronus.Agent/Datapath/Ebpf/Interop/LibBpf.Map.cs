using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

internal static partial class LibBpf
{
    [LibraryImport(Library, EntryPoint = "bpf_map__name")]
    public static partial IntPtr MapName(IntPtr map);

    /// <summary>Where load pins the map, and where it first looks for a pinned map to reuse.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_map__set_pin_path", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MapSetPinPath(IntPtr map, string path);

    /// <summary>The map's descriptor, owned by its bpf_object.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(IntPtr map);

    [LibraryImport(Library, EntryPoint = "bpf_map__key_size")]
    public static partial uint MapKeySize(IntPtr map);

    [LibraryImport(Library, EntryPoint = "bpf_map__value_size")]
    public static partial uint MapValueSize(IntPtr map);
}
