using LibC = Patronus.Netlink.Interop.Libc;

namespace Patronus.Agent.Datapath.Ebpf.Interop;

/// <summary>An owned BPF object descriptor (from bpf_obj_get); 0 is a valid descriptor, -1 is not.</summary>
internal sealed class BpfDescriptor : System.Runtime.InteropServices.SafeHandle
{
    public BpfDescriptor() : base(-1, ownsHandle: true)
    {
    }

    public BpfDescriptor(int fd) : this() => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
