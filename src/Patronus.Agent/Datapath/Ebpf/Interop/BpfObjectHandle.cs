namespace Patronus.Agent.Datapath.Ebpf.Interop;

/// <summary>
/// An owned <c>struct bpf_object *</c>. Closing it closes the descriptors of its maps and programs; pinned
/// maps and attached programs live on in the kernel.
/// </summary>
internal sealed class BpfObjectHandle : System.Runtime.InteropServices.SafeHandle
{
    public BpfObjectHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibBpf.ObjectClose(handle);
        return true;
    }
}
