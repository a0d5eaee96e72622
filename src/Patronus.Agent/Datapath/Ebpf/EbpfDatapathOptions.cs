namespace Patronus.Agent.Datapath.Ebpf;

public sealed class EbpfDatapathOptions
{
    /// <summary>The compiled programs (bpf/patronus_lxc.c, built by ./build.sh beside the agent).</summary>
    public string ObjectPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "bpf", "patronus_lxc.o");

    /// <summary>
    /// A bpffs to pin maps and programs in (under patronus/v{layout}/), so enforcement outlives the agent and
    /// the next one adopts them. Mounted there (a fresh instance, root only) when it is not a bpffs yet.
    /// </summary>
    public string Bpffs { get; set; } = "/sys/fs/bpf";

    /// <summary>The pods' bridge: the programs go on every port of it (the pods' host-side veths).</summary>
    public string Bridge { get; set; } = "cni-bridge0";

    /// <summary>Network namespace to program (a file such as /var/run/netns/node1); null is the agent's own.</summary>
    public string? NetworkNamespacePath { get; set; }
}
