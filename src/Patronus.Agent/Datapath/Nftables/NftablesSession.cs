using System.Runtime.InteropServices;
using System.Text.Json;
using Patronus.Agent.Datapath.Nftables.Interop;

namespace Patronus.Agent.Datapath.Nftables;

/// <summary>
/// One libnftables context. libnftables talks netlink in the network namespace of the thread that runs
/// the command, so a session must only be created and used on one thread (see <see cref="NamespaceThread"/>).
/// </summary>
internal sealed class NftablesSession : IDisposable
{
    private readonly NftContext _context;

    public NftablesSession()
    {
        _context = LibNftables.CtxNew(LibNftables.ContextDefault);
        if (_context.IsInvalid)
            throw new NftablesException("nft_ctx_new failed: is libnftables.so.1 (Debian libnftables1) installed?");
        // Both buffers: output is what list commands print, errors are the parser's and kernel's messages.
        if (LibNftables.CtxBufferOutput(_context) != 0 || LibNftables.CtxBufferError(_context) != 0)
            throw new NftablesException("nft_ctx_buffer_output/nft_ctx_buffer_error failed");
    }

    /// <summary>Runs an nft script (one transaction) and returns what it printed.</summary>
    public string Run(string script) => Run(script, json: false);

    /// <summary>Runs a list command and returns its libnftables-json(5) output.</summary>
    public string RunJson(string command) => Run(command, json: true);

    /// <summary>A table's named objects as the kernel holds them now (<c>family name</c>); null when there is no such table.</summary>
    public KernelTable? ReadTable(string qualified)
    {
        var (family, name) = (qualified.Split(' ')[0], qualified.Split(' ')[1]);
        // `list table` of a missing table is an error; `list tables` says whether it is there without one.
        using (var tables = JsonDocument.Parse(RunJson("list tables")))
        {
            var exists = tables.RootElement.GetProperty("nftables").EnumerateArray().Any(item => item.TryGetProperty("table", out var table)
                && table.GetProperty("family").GetString() == family && table.GetProperty("name").GetString() == name);
            if (!exists)
                return null;
        }
        return KernelTable.Parse(RunJson($"list table {qualified}"));
    }

    /// <summary>
    /// Replaces a table with <paramref name="declaration"/> (a <c>table family name { … }</c> block) in one transaction,
    /// keeping its hooks where they are <paramref name="baseChains"/> (see <see cref="KernelTable.Replacement"/>).
    /// </summary>
    public void ReplaceTable(string qualified, IReadOnlyList<KernelChain> baseChains, string declaration) =>
        Run(KernelTable.Replacement(qualified, baseChains, ReadTable(qualified)) + declaration);

    private string Run(string script, bool json)
    {
        // The JSON output flag also makes libnftables try to parse the input as JSON first, so it is
        // set only around list commands and the transactions stay on the plain-text parser.
        LibNftables.CtxOutputSetFlags(_context, json ? LibNftables.OutputJson : 0);
        var rc = LibNftables.RunCmdFromBuffer(_context, script);
        var output = Marshal.PtrToStringUTF8(LibNftables.CtxGetOutputBuffer(_context)) ?? "";
        var error = Marshal.PtrToStringUTF8(LibNftables.CtxGetErrorBuffer(_context)) ?? "";
        if (rc != 0)
            throw new NftablesException(error.Length > 0 ? error.TrimEnd() : $"nft_run_cmd_from_buffer returned {rc}");
        return output;
    }

    public void Dispose() => _context.Dispose();
}
