using Patronus.Agent.Datapath;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>
/// A datapath that remembers every call and what it would hold, and can be told to fail. Each policy is first
/// rendered into nftables rules as the real datapath does, so input the kernel's ruleset could not hold
/// (a name with a space, say) fails here as it would there.
/// </summary>
public sealed class RecordingDatapath : IPolicyDatapath
{
    private readonly Lock _lock = new();
    private readonly Dictionary<EndpointId, EndpointPolicy> _held = [];

    public List<string> Calls { get; } = [];

    public bool Fail { get; set; }

    public List<PolicyDropCounter> Counters { get; } = [];

    public IReadOnlyDictionary<EndpointId, EndpointPolicy> Held
    {
        get { lock (_lock) return new Dictionary<EndpointId, EndpointPolicy>(_held); }
    }

    public string[] CallLog
    {
        get { lock (_lock) return Calls.ToArray(); }
    }

    public void Reconcile(IReadOnlyCollection<EndpointPolicy> all)
    {
        lock (_lock)
        {
            if (Fail)
                throw new InvalidOperationException("nft: table inet patronus is busy");
            foreach (var policy in all)
                Patronus.Agent.Datapath.Nftables.EndpointRules.From(policy);
            Calls.Add("reconcile " + string.Join(",", all.Select(p => p.Endpoint).Order(Comparer<EndpointId>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString())))));
            _held.Clear();
            foreach (var policy in all)
                _held[policy.Endpoint] = policy;
        }
    }

    public void Update(IReadOnlyCollection<EndpointPolicy> changed, IReadOnlyCollection<EndpointId> removed)
    {
        lock (_lock)
        {
            if (Fail)
                throw new InvalidOperationException("nft: table inet patronus is busy");
            foreach (var policy in changed)
                Patronus.Agent.Datapath.Nftables.EndpointRules.From(policy);
            Calls.Add($"update +{string.Join(",", changed.Select(p => p.Endpoint))} -{string.Join(",", removed)}");
            foreach (var id in removed)
                _held.Remove(id);
            foreach (var policy in changed)
                _held[policy.Endpoint] = policy;
        }
    }

    public IReadOnlyList<PolicyDropCounter> ReadDropCounters()
    {
        lock (_lock)
            return Counters.ToArray();
    }
}
