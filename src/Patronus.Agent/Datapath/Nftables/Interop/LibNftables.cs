using System.Runtime.InteropServices;

namespace Patronus.Agent.Datapath.Nftables.Interop;

/// <summary>
/// The handful of libnftables entry points the datapath needs (Debian libnftables1; see libnftables(3)).
/// libnftables is the same parser and transaction builder as the nft tool, so a script rendered here is
/// committed exactly as `nft -f` would commit it: one netlink batch, applied atomically by the kernel.
/// </summary>
internal static partial class LibNftables
{
    private const string Library = "libnftables.so.1";

    /// <summary>NFT_CTX_DEFAULT: no special context flags.</summary>
    public const uint ContextDefault = 0;

    /// <summary>NFT_CTX_OUTPUT_JSON (1 &lt;&lt; 4 in libnftables.h): list commands print libnftables-json(5).</summary>
    public const uint OutputJson = 1u << 4;

    [LibraryImport(Library, EntryPoint = "nft_ctx_new")]
    public static partial NftContext CtxNew(uint flags);

    [LibraryImport(Library, EntryPoint = "nft_ctx_free")]
    public static partial void CtxFree(IntPtr ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_output_set_flags")]
    public static partial void CtxOutputSetFlags(NftContext ctx, uint flags);

    [LibraryImport(Library, EntryPoint = "nft_ctx_buffer_output")]
    public static partial int CtxBufferOutput(NftContext ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_get_output_buffer")]
    public static partial IntPtr CtxGetOutputBuffer(NftContext ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_buffer_error")]
    public static partial int CtxBufferError(NftContext ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_get_error_buffer")]
    public static partial IntPtr CtxGetErrorBuffer(NftContext ctx);

    [LibraryImport(Library, EntryPoint = "nft_run_cmd_from_buffer", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RunCmdFromBuffer(NftContext ctx, string buffer);
}
