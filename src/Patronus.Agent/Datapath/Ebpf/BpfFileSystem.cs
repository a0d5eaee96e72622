using LibC = Patronus.Netlink.Interop.Libc;

namespace Patronus.Agent.Datapath.Ebpf;

/// <summary>The bpffs where maps and programs are pinned so they outlive the agent.</summary>
internal static unsafe class BpfFileSystem
{
    /// <summary>BPF_FS_MAGIC from linux/magic.h: f_type of a bpffs.</summary>
    private const long BpfFsMagic = 0xcafe4a11;

    public static bool IsBpfFs(string path)
    {
        var buffer = stackalloc byte[128];
        if (LibC.StatFs(path, buffer) != 0)
            return false;
        return *(long*)buffer == BpfFsMagic;
    }

    /// <summary>
    /// Makes <paramref name="path"/> a bpffs: left alone when it is one already (a node's /sys/fs/bpf, or the
    /// instance a previous agent mounted), otherwise a new instance is mounted there, readable by root only.
    /// Every bpffs mount is its own instance, so a directory of our own never shares pins with anyone else's.
    /// </summary>
    public static void Ensure(string path)
    {
        Directory.CreateDirectory(path);
        if (IsBpfFs(path))
            return;
        if (LibC.Mount("bpf", path, "bpf", 0, "mode=0700") != 0)
            throw BpfException.FromLastError($"mounting a bpffs on {path}");
    }
}
