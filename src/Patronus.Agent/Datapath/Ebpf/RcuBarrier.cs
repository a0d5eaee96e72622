using Patronus.Agent.Datapath.Ebpf.Maps;

namespace Patronus.Agent.Datapath.Ebpf;

/// <summary>
/// Waits for an RCU grace period from user space: replacing the element of a map-of-maps returns only once
/// every program that might still use the old value has finished (kernel/bpf/syscall.c,
/// maybe_wait_bpf_programs). After <see cref="Wait"/>, no packet is still being judged by a rule set that no
/// endpoint points at any more, so its entries can go.
/// </summary>
internal sealed class RcuBarrier(LxcObject loaded)
{
    private readonly byte[] _slot = MapEncoding.Index(0);
    private readonly byte[] _inner = MapEncoding.Index((uint)loaded.RcuBarrierInnerFd);

    public void Wait() => loaded.RcuBarrier.Update(_slot, _inner);
}
