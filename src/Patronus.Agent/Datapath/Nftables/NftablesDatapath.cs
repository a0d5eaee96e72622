using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Netlink;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Nftables;

/// <summary>
/// Enforces compiled endpoint policies with one nftables table (see <see cref="RulesetRenderer"/> for its
/// shape). Every call is one libnftables transaction, run on a dedicated thread that lives in the target
/// network namespace. The rules live in the kernel: disposing this object (or the agent dying) leaves them
/// in force, and the next instance's <see cref="Reconcile"/> replaces them atomically.
/// </summary>
public sealed partial class NftablesDatapath : IPolicyDatapath, IDisposable
{
    private readonly NamespaceThread _thread;
    private readonly NftablesSession _session;
    private readonly ILogger _logger;

    // What this instance last committed, per endpoint, with the addresses it actually holds in the maps.
    // Only written after a transaction succeeds; a failed transaction leaves the kernel unchanged too.
    private Dictionary<EndpointId, EndpointRules>? _installed;
    private readonly Dictionary<IPAddress, EndpointId> _owners = new();

    public NftablesDatapath(NftablesDatapathOptions options, ILogger<NftablesDatapath>? logger = null)
    {
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _thread = new NamespaceThread(options.NetworkNamespacePath, "patronus-nftables");
        try
        {
            _session = _thread.Invoke(() =>
            {
                if (options.EnsureBridgeNetfilter)
                    EnsureBridgeNetfilter();
                return new NftablesSession();
            });
        }
        catch
        {
            _thread.Dispose();
            throw;
        }
    }

    public void Reconcile(IReadOnlyCollection<EndpointPolicy> all)
    {
        var compiled = all.Select(EndpointRules.From).ToList();
        _thread.Invoke(() =>
        {
            var started = Stopwatch.GetTimestamp();
            var owners = new Dictionary<IPAddress, EndpointId>();
            var installed = new Dictionary<EndpointId, EndpointRules>();
            foreach (var rules in compiled)
                installed[rules.Endpoint] = Claim(rules, owners);
            // patronus_policy_blocks_total stays monotonic across reconciles and agent restarts: replaced in place, the
            // table keeps its counters; made again (hooked otherwise), it starts them from the values read here, and
            // drops counted between this read and the commit are lost (microseconds).
            var existing = _session.ReadTable(RulesetRenderer.Qualified);
            var carried = (existing?.Counters ?? []).ToDictionary(c => c.Name, c => (c.Packets, c.Bytes));
            _session.Run(RulesetRenderer.RenderFull(installed.Values, carried, existing));
            _installed = installed;
            _owners.Clear();
            foreach (var (address, owner) in owners)
                _owners[address] = owner;
            Log.Reconciled(_logger, installed.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return 0;
        });
    }

    public void Update(IReadOnlyCollection<EndpointPolicy> changed, IReadOnlyCollection<EndpointId> removed)
    {
        var compiled = changed.Select(EndpointRules.From).ToList();
        _thread.Invoke(() =>
        {
            var installed = _installed ?? throw new InvalidOperationException("Reconcile must run before Update: the datapath does not know what the kernel holds yet");
            var started = Stopwatch.GetTimestamp();
            var owners = new Dictionary<IPAddress, EndpointId>(_owners);
            var touched = removed.Concat(compiled.Select(c => c.Endpoint)).ToHashSet();
            foreach (var endpoint in touched)
                if (installed.TryGetValue(endpoint, out var old))
                    foreach (var address in old.Addresses)
                        owners.Remove(address);

            var changes = new List<(EndpointRules? Old, EndpointRules? New)>();
            var next = new Dictionary<EndpointId, EndpointRules>(installed);
            foreach (var endpoint in removed.Distinct())
                if (next.Remove(endpoint, out var old))
                    changes.Add((old, null));
            foreach (var rules in compiled)
            {
                var claimed = Claim(rules, owners);
                installed.TryGetValue(rules.Endpoint, out var old);
                changes.Add((old, claimed));
                next[rules.Endpoint] = claimed;
            }

            var script = RulesetRenderer.RenderUpdate(changes);
            if (script.Length > 0)
                _session.Run(script);
            _installed = next;
            _owners.Clear();
            foreach (var (address, owner) in owners)
                _owners[address] = owner;
            Log.Updated(_logger, compiled.Count, removed.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return 0;
        });
    }

    public IReadOnlyList<PolicyDropCounter> ReadDropCounters() => _thread.Invoke(() =>
        (IReadOnlyList<PolicyDropCounter>)ReadCounters()
            .Select(c => (Counter: c, Key: DropCounter.ParseComment(c.Comment)))
            .Where(c => c.Key is not null)
            .Select(c => new PolicyDropCounter(c.Key!.Namespace, c.Key.Policy, c.Key.Direction, c.Counter.Packets, c.Counter.Bytes))
            .ToList());

    /// <summary>Keeps the addresses no other endpoint holds (first claimant wins: two pods never share an address for long).</summary>
    private EndpointRules Claim(EndpointRules rules, Dictionary<IPAddress, EndpointId> owners)
    {
        var kept = new List<IPAddress>();
        foreach (var address in rules.Addresses.Select(RulesetRenderer.Normalize).Distinct())
        {
            if (owners.TryGetValue(address, out var owner) && owner != rules.Endpoint)
            {
                Log.AddressConflict(_logger, address, rules.Endpoint, owner);
                continue;
            }
            owners[address] = rules.Endpoint;
            kept.Add(address);
        }
        return rules with { Addresses = kept };
    }

    /// <summary>Our table's named counters, from `list counters` in libnftables-json(5); none when the table does not exist yet.</summary>
    private List<KernelCounter> ReadCounters()
    {
        // `list counters` over all tables succeeds whether or not ours exists yet.
        var output = _session.RunJson("list counters");
        var result = new List<KernelCounter>();
        if (string.IsNullOrWhiteSpace(output))
            return result;
        using var json = JsonDocument.Parse(output);
        foreach (var item in json.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("counter", out var counter))
                continue;
            if (counter.GetProperty("family").GetString() != RulesetRenderer.Family || counter.GetProperty("table").GetString() != RulesetRenderer.Table)
                continue;
            result.Add(KernelCounter.From(counter));
        }
        return result;
    }

    // Runs on the namespace thread: /proc/sys/net resolves to the network namespace of the calling thread.
    private void EnsureBridgeNetfilter()
    {
        foreach (var name in new[] { "bridge-nf-call-iptables", "bridge-nf-call-ip6tables" })
        {
            var path = $"/proc/sys/net/bridge/{name}";
            if (!File.Exists(path))
            {
                Log.BridgeNetfilterMissing(_logger, path);
                continue;
            }
            if (File.ReadAllText(path).Trim() == "1")
                continue;
            File.WriteAllText(path, "1\n");
            Log.BridgeNetfilterEnabled(_logger, path);
        }
    }

    public void Dispose()
    {
        try
        {
            _thread.Invoke(() =>
            {
                _session.Dispose();
                return 0;
            });
        }
        finally
        {
            _thread.Dispose();
        }
    }
}
