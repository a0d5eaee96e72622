namespace Patronus.Netlink;

/// <summary>tc handles: 16-bit major and minor in one u32 (linux/pkt_sched.h TC_H_*).</summary>
public static class TcHandle
{
    /// <summary>TC_H_ROOT: the parent of a device's root qdisc.</summary>
    public const uint Root = 0xFFFFFFFF;

    /// <summary>TC_H_INGRESS: the parent of the ingress (and clsact) qdisc.</summary>
    public const uint Ingress = 0xFFFFFFF1;

    /// <summary>ffff:, the handle the ingress qdisc always has.</summary>
    public const uint IngressQdisc = 0xFFFF0000;

    public static uint Make(ushort major, ushort minor) => ((uint)major << 16) | minor;

    public static ushort Major(uint handle) => (ushort)(handle >> 16);

    public static ushort Minor(uint handle) => (ushort)handle;

    /// <summary>"1:0", "ffff:0", "root", "ingress" as tc prints them.</summary>
    public static string Format(uint handle) => handle switch
    {
        Root => "root",
        Ingress => "ingress",
        _ => $"{Major(handle):x}:{Minor(handle):x}",
    };
}
