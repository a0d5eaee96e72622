using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Nftables.Interop;

/// <summary>An owned <c>struct nft_ctx *</c>; freed with nft_ctx_free.</summary>
internal sealed class NftContext : SafeHandle
{
    public NftContext() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibNftables.CtxFree(handle);
        return true;
    }
}
