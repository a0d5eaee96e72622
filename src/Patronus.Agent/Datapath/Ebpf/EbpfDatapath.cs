using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Agent.Datapath.Ebpf.Maps;
using Patronus.Agent.Datapath.Ebpf.Rules;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Netlink;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath.Ebpf;

/// <summary>
/// Enforces compiled endpoint policies with TC programs on every pod's host-side veth (bpf/patronus_lxc.c)
/// and maps pinned in a bpffs. Kernel work runs on a dedicated thread in the target network namespace.
///
/// A change never shows a packet half a policy. A direction that becomes isolated, and every endpoint at
/// Reconcile, gets a rule set under a fresh id, filled before its endpoints map element is replaced (atomic
/// per element). A direction that stays isolated is edited in place, in an order that keeps every lookup
/// whole (see <see cref="EditDirection"/>). Whatever no packet may reach any more (rule sets, port classes)
/// is removed only after an RCU grace period, when no running program can still be reading it. Maps and
/// programs stay in the kernel when the agent stops; the next agent reuses the pinned maps, replaces the
/// programs in place and reconciles with the fresh-id swap, so enforcement has no gap.
/// </summary>
public sealed partial class EbpfDatapath : IPolicyDatapath, IDisposable
{
    private readonly NamespaceThread _thread;
    private readonly LxcObject _object;
    private readonly EbpfDatapathOptions _options;
    private readonly ILogger _logger;
    private readonly RcuBarrier _barrier;

    private sealed record InstalledDirection(uint Ruleset, uint Counter, CompiledRuleset Rules, PortClasses Classes);

    private sealed record InstalledEndpoint(IReadOnlyList<IPAddress> Addresses, InstalledDirection? Ingress, InstalledDirection? Egress)
    {
        public EndpointRulesets Value => new(Ingress?.Ruleset ?? 0, Egress?.Ruleset ?? 0, Ingress?.Counter ?? 0, Egress?.Counter ?? 0);
    }

    // What this instance last wrote, per endpoint; null until the first Reconcile.
    private Dictionary<EndpointId, InstalledEndpoint>? _installed;
    private readonly Dictionary<IPAddress, EndpointId> _owners = [];
    private readonly Dictionary<string, uint> _counters = [];
    private readonly HashSet<(int Index, string Name)> _attached = [];
    private uint _nextRuleset = 1;
    private uint _nextCounter = 1;

    public EbpfDatapath(EbpfDatapathOptions options, ILogger<EbpfDatapath>? logger = null)
    {
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _thread = new NamespaceThread(options.NetworkNamespacePath, "patronus-ebpf");
        try
        {
            (_object, _barrier) = _thread.Invoke(() =>
            {
                var loaded = new LxcObject(options.ObjectPath, options.Bpffs);
                return (loaded, new RcuBarrier(loaded));
            });
        }
        catch
        {
            _thread.Dispose();
            throw;
        }
    }

    /// <summary>Where maps and programs are pinned.</summary>
    public string PinDirectory => _object.PinDirectory;

    public void Reconcile(IReadOnlyCollection<EndpointPolicy> all)
    {
        var compiled = all.Select(EndpointRules.From).ToList();
        _thread.Invoke(() =>
        {
            var started = Stopwatch.GetTimestamp();
            ReadCounterNames();
            // Rule sets written by an earlier agent stay in force until each endpoint is swapped; new ids start above them.
            var existing = _object.Endpoints.Keys();
            var value = new byte[MapEncoding.EndpointValueSize];
            foreach (var key in existing)
                if (_object.Endpoints.TryLookup(key, value))
                {
                    var rulesets = MapEncoding.ReadEndpointValue(value);
                    _nextRuleset = Math.Max(_nextRuleset, Math.Max(rulesets.Ingress, rulesets.Egress) + 1);
                }
            if (_installed is null)
                Log.Loaded(_logger, _object.PinDirectory, existing.Count);

            // Programs first (replacing an earlier build's in place), so every port runs this object's code
            // against the maps before the maps change.
            AttachToBridgePorts(replaceAll: true);

            var owners = new Dictionary<IPAddress, EndpointId>();
            var installed = new Dictionary<EndpointId, InstalledEndpoint>();
            var entries = 0;
            foreach (var rules in compiled)
            {
                var endpoint = Install(Claim(rules, owners), previous: null, garbage: []);
                installed[rules.Endpoint] = endpoint;
                entries += (endpoint.Ingress?.Rules.EntryCount ?? 0) + (endpoint.Egress?.Rules.EntryCount ?? 0);
            }
            var wanted = owners.Keys.Select(a => Convert.ToHexString(MapEncoding.Address(a))).ToHashSet();
            foreach (var key in existing)
                if (!wanted.Contains(Convert.ToHexString(key)))
                    _object.Endpoints.Delete(key);
            RefreshNodeAddresses();

            // Whatever rule set no endpoint points at now is an earlier generation's: remove it once no program can be reading it.
            var live = installed.Values.SelectMany(e => new[] { e.Ingress?.Ruleset, e.Egress?.Ruleset }).OfType<uint>().ToHashSet();
            var stale = Stale(_object.PeerRules, live).Concat(Stale(_object.PortRules, live)).ToList();
            if (stale.Count > 0)
                _barrier.Wait();
            foreach (var (map, key) in stale)
                map.Delete(key);
            var swept = stale.Count;

            _installed = installed;
            _owners.Clear();
            foreach (var (address, owner) in owners)
                _owners[address] = owner;
            Log.Reconciled(_logger, installed.Count, entries, swept, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return 0;
        });
    }

    public void Update(IReadOnlyCollection<EndpointPolicy> changed, IReadOnlyCollection<EndpointId> removed)
    {
        var compiled = changed.Select(EndpointRules.From).ToList();
        _thread.Invoke(() =>
        {
            // A copy: should a kernel call fail half-way, the pipeline reconciles from scratch and this instance's view stays what it was.
            var installed = new Dictionary<EndpointId, InstalledEndpoint>(_installed ?? throw new InvalidOperationException("Reconcile must run before Update: the datapath does not know what the kernel holds yet"));
            var started = Stopwatch.GetTimestamp();
            // New pods' veths get their programs before their policy is reported in force.
            AttachToBridgePorts(replaceAll: false);

            var owners = new Dictionary<IPAddress, EndpointId>(_owners);
            var touched = removed.Concat(compiled.Select(c => c.Endpoint)).ToHashSet();
            foreach (var endpoint in touched)
                if (installed.TryGetValue(endpoint, out var old))
                    foreach (var address in old.Addresses)
                        owners.Remove(address);

            var retired = new List<InstalledDirection>();
            var garbage = new List<(uint Ruleset, PortEntry Port)>();
            var gone = new HashSet<IPAddress>();
            foreach (var endpoint in removed.Distinct())
                if (installed.Remove(endpoint, out var old))
                {
                    gone.UnionWith(old.Addresses);
                    retired.AddRange(new[] { old.Ingress, old.Egress }.OfType<InstalledDirection>());
                }
            foreach (var rules in compiled)
            {
                installed.TryGetValue(rules.Endpoint, out var old);
                var now = Install(Claim(rules, owners), old, garbage);
                installed[rules.Endpoint] = now;
                if (old is null)
                    continue;
                gone.UnionWith(old.Addresses.Except(now.Addresses));
                if (old.Ingress is { } i && i.Ruleset != now.Ingress?.Ruleset)
                    retired.Add(i);
                if (old.Egress is { } e && e.Ruleset != now.Egress?.Ruleset)
                    retired.Add(e);
            }
            foreach (var address in gone.Where(a => !owners.ContainsKey(a)))
                _object.Endpoints.Delete(MapEncoding.Address(address));
            RefreshNodeAddresses();

            if (retired.Count > 0 || garbage.Count > 0)
            {
                _barrier.Wait();
                foreach (var direction in retired)
                    DeleteEntries(direction);
                foreach (var (ruleset, port) in garbage)
                    _object.PortRules.Delete(MapEncoding.PortKey(ruleset, port));
            }
            _installed = installed;
            _owners.Clear();
            foreach (var (address, owner) in owners)
                _owners[address] = owner;
            Log.Updated(_logger, compiled.Count, removed.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return 0;
        });
    }

    public IReadOnlyList<PolicyDropCounter> ReadDropCounters() => _thread.Invoke(() =>
    {
        ReadCounterNames();
        var perCpu = new byte[MapEncoding.DropCounterSize * Math.Max(1, Interop.LibBpf.NumPossibleCpus())];
        var result = new List<PolicyDropCounter>();
        foreach (var (label, id) in _counters)
        {
            if (DropCounter.ParseComment(label) is not { } counter || !_object.DropCounters.TryLookup(MapEncoding.Index(id), perCpu))
                continue;
            var (packets, bytes) = MapEncoding.SumDropCounter(perCpu);
            result.Add(new PolicyDropCounter(counter.Namespace, counter.Policy, counter.Direction, packets, bytes));
        }
        return (IReadOnlyList<PolicyDropCounter>)result;
    });

    /// <summary>
    /// Writes an endpoint: each isolated direction's rule set (new, or edited in place), then its endpoints map
    /// elements, each replaced in one step. Port entries that no peer entry can reach once the caller has
    /// waited for a grace period go to <paramref name="garbage"/>.
    /// </summary>
    private InstalledEndpoint Install(EndpointRules rules, InstalledEndpoint? previous, List<(uint Ruleset, PortEntry Port)> garbage)
    {
        var ingress = InstallDirection(rules.Ingress, previous?.Ingress, garbage);
        var egress = InstallDirection(rules.Egress, previous?.Egress, garbage);
        var endpoint = new InstalledEndpoint(rules.Addresses, ingress, egress);
        var value = MapEncoding.EndpointValue(endpoint.Value);
        foreach (var address in rules.Addresses)
            _object.Endpoints.Update(MapEncoding.Address(address), value);
        return endpoint;
    }

    private InstalledDirection? InstallDirection(DirectionRules? rules, InstalledDirection? previous, List<(uint Ruleset, PortEntry Port)> garbage)
    {
        if (rules is null)
            return null;
        var counter = CounterFor(rules.Counter);
        if (previous is not null)
        {
            var classes = previous.Classes.Copy();
            if (RulesetCompiler.Compile(rules, classes) is { } recompiled)
                return EditDirection(previous, recompiled, classes, counter, garbage);
        }
        var fresh = new PortClasses();
        var compiled = RulesetCompiler.Compile(rules, fresh)
            ?? throw new InvalidOperationException($"{rules.Comment}: more than {ushort.MaxValue} distinct port sets");
        var ruleset = _nextRuleset++;
        foreach (var port in compiled.Ports)
            _object.PortRules.Update(MapEncoding.PortKey(ruleset, port), MapEncoding.PortValue());
        foreach (var peer in compiled.Peers)
            _object.PeerRules.Update(MapEncoding.PeerKey(ruleset, peer), MapEncoding.PeerValue(peer));
        return new InstalledDirection(ruleset, counter, compiled, fresh);
    }

    /// <summary>
    /// Edits a rule set in place, touching only entries that differ, in an order that keeps every packet's
    /// lookup whole. The peer entries of one compile never overlap, so while old and new entries coexist an
    /// address matches at most one of each, and whichever wins gives that address's old or its new admission,
    /// never a mix. Port classes never change content while referenced (a changed port set is a new class), so
    /// a new class's ports are written before any peer entry names it, and an abandoned class's ports go only
    /// after a grace period (the caller's), when no packet can still hold its number.
    /// </summary>
    private InstalledDirection EditDirection(InstalledDirection previous, CompiledRuleset compiled, PortClasses classes, uint counter, List<(uint Ruleset, PortEntry Port)> garbage)
    {
        var ruleset = previous.Ruleset;
        var oldPorts = previous.Rules.Ports.ToHashSet();
        var newPorts = compiled.Ports.ToHashSet();
        foreach (var port in compiled.Ports.Where(p => !oldPorts.Contains(p)))
            _object.PortRules.Update(MapEncoding.PortKey(ruleset, port), MapEncoding.PortValue());

        var oldPeers = previous.Rules.Peers.ToHashSet();
        foreach (var peer in compiled.Peers.Where(p => !oldPeers.Contains(p)))
            _object.PeerRules.Update(MapEncoding.PeerKey(ruleset, peer), MapEncoding.PeerValue(peer));
        var newPrefixes = compiled.Peers.Select(p => (p.Family, p.Start, p.PrefixLength)).ToHashSet();
        foreach (var peer in previous.Rules.Peers.Where(p => !newPrefixes.Contains((p.Family, p.Start, p.PrefixLength))))
            _object.PeerRules.Delete(MapEncoding.PeerKey(ruleset, peer));

        garbage.AddRange(previous.Rules.Ports.Where(p => !newPorts.Contains(p)).Select(p => (ruleset, p)));
        return new InstalledDirection(ruleset, counter, compiled, classes);
    }

    private void DeleteEntries(InstalledDirection direction)
    {
        foreach (var peer in direction.Rules.Peers)
            _object.PeerRules.Delete(MapEncoding.PeerKey(direction.Ruleset, peer));
        foreach (var port in direction.Rules.Ports)
            _object.PortRules.Delete(MapEncoding.PortKey(direction.Ruleset, port));
    }

    private static IEnumerable<(BpfMap Map, byte[] Key)> Stale(BpfMap rules, HashSet<uint> live) =>
        rules.Keys().Where(key => !live.Contains(MapEncoding.RulesetOfKey(key))).Select(key => (rules, key));

    /// <summary>The drop counter of a (namespace, policy, direction), the same index for as long as the pinned maps live.</summary>
    private uint CounterFor(DropCounter counter)
    {
        if (_counters.TryGetValue(counter.Comment, out var id))
            return id;
        if (_nextCounter >= 16384)
            throw new InvalidOperationException("all 16384 drop counters are in use; restart the agent with a fresh bpffs pin directory to renumber them");
        id = _nextCounter++;
        _object.DropCounterNames.Update(MapEncoding.Index(id), MapEncoding.CounterName(counter.Comment));
        _counters[counter.Comment] = id;
        return id;
    }

    private void ReadCounterNames()
    {
        var name = new byte[MapEncoding.CounterNameSize];
        foreach (var key in _object.DropCounterNames.Keys())
        {
            if (!_object.DropCounterNames.TryLookup(key, name))
                continue;
            var id = MapEncoding.ReadIndex(key);
            _counters[MapEncoding.ReadCounterName(name)] = id;
            _nextCounter = Math.Max(_nextCounter, id + 1);
        }
    }

    /// <summary>The node's own addresses, whose traffic to pods is never filtered (kubelet probes).</summary>
    private void RefreshNodeAddresses()
    {
        using var netlink = RtNetlink.Open();
        var wanted = netlink.AddrList().Select(a => Convert.ToHexString(MapEncoding.Address(a.Address.Address))).ToHashSet();
        var present = _object.NodeAddresses.Keys();
        foreach (var key in present)
            if (!wanted.Remove(Convert.ToHexString(key)))
                _object.NodeAddresses.Delete(key);
        foreach (var key in wanted)
            _object.NodeAddresses.Update(Convert.FromHexString(key), [1, 0, 0, 0]);
    }

    /// <summary>Puts the programs on every port of the bridge: all of them (a new load replaces the old in place), or only those not done yet.</summary>
    private void AttachToBridgePorts(bool replaceAll)
    {
        using var netlink = RtNetlink.Open();
        var links = netlink.LinkList();
        var bridge = links.FirstOrDefault(l => l.Name == _options.Bridge);
        if (bridge is null)
        {
            if (replaceAll)
                Log.BridgeMissing(_logger, _options.Bridge);
            return;
        }
        var ports = links.Where(l => l.MasterIndex == bridge.Index).Select(l => (l.Index, l.Name)).ToHashSet();
        _attached.IntersectWith(ports);
        if (!replaceAll && ports.IsSubsetOf(_attached))
            return;
        var withClsact = netlink.QdiscList().Where(q => q.Kind == "clsact").Select(q => q.LinkIndex).ToHashSet();
        foreach (var port in ports)
        {
            if (!replaceAll && _attached.Contains(port))
                continue;
            _object.Attach(port.Index, port.Name, withClsact.Contains(port.Index));
            _attached.Add(port);
            Log.Attached(_logger, port.Name);
        }
    }

    /// <summary>Keeps the addresses no other endpoint holds (first claimant wins), as the nftables datapath does.</summary>
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

    public void Dispose()
    {
        try
        {
            _thread.Invoke(() =>
            {
                _object.Dispose();
                return 0;
            });
        }
        finally
        {
            _thread.Dispose();
        }
    }
}
