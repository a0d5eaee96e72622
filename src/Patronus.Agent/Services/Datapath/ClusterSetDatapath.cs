using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Netlink;

namespace Patronus.Agent.Services.Datapath;

/// <summary>
/// Programs the ClusterSetIP table (see <see cref="ClusterSetRenderer"/>) through libnftables, on a dedicated thread in the
/// target network namespace, one transaction per call. The rules live in the kernel: disposing this object leaves them in
/// force, and the next instance's first <see cref="Program"/> replaces the whole table.
/// </summary>
public sealed partial class ClusterSetDatapath : IDisposable
{
    private readonly NamespaceThread _thread;
    private readonly NftablesSession _session;
    private readonly ILogger _logger;
    private IReadOnlyCollection<ClusterSetVip>? _installed;

    /// <param name="networkNamespacePath">The namespace to program (<c>/var/run/netns/NAME</c>); null for the agent's own.</param>
    public ClusterSetDatapath(string? networkNamespacePath, ILogger<ClusterSetDatapath>? logger = null)
    {
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _thread = new NamespaceThread(networkNamespacePath, "patronus-clusterset");
        try
        {
            _session = _thread.Invoke(() => new NftablesSession());
        }
        catch
        {
            _thread.Dispose();
            throw;
        }
    }

    /// <summary>Makes the kernel's VIPs exactly <paramref name="vips"/>, atomically. A failed transaction changes nothing.</summary>
    public void Program(IReadOnlyCollection<ClusterSetVip> vips)
    {
        var snapshot = vips.ToList();
        _thread.Invoke(() =>
        {
            _session.Run(ClusterSetRenderer.Render(snapshot, _installed, _installed is null ? _session.ReadTable($"{ClusterSetRenderer.Family} {ClusterSetRenderer.Table}") : null));
            _installed = snapshot;
            Log.Programmed(_logger, snapshot.Count, snapshot.Sum(v => v.Backends.Count));
            return 0;
        });
    }

    /// <summary>Removes the table (the feature is switched off); the next <see cref="Program"/> starts afresh.</summary>
    public void Remove()
    {
        _thread.Invoke(() =>
        {
            _session.Run($"table {ClusterSetRenderer.Family} {ClusterSetRenderer.Table}\ndelete table {ClusterSetRenderer.Family} {ClusterSetRenderer.Table}\n");
            _installed = null;
            return 0;
        });
    }

    public void Dispose()
    {
        _thread.Invoke(() =>
        {
            _session.Dispose();
            return 0;
        });
        _thread.Dispose();
    }
}
