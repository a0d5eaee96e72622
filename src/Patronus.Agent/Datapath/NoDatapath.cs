using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath;

/// <summary>
/// `--datapath none`: keeps the compiled policies it is given and enforces nothing. For tests and dry runs,
/// where the pipeline, the socket and the state matter and the kernel does not.
/// </summary>
public sealed class NoDatapath : IPolicyDatapath
{
    private readonly Lock _lock = new();
    private readonly Dictionary<EndpointId, EndpointPolicy> _programmed = [];

    /// <summary>What the kernel would hold now.</summary>
    public IReadOnlyDictionary<EndpointId, EndpointPolicy> Programmed
    {
        get
        {
            lock (_lock)
                return new Dictionary<EndpointId, EndpointPolicy>(_programmed);
        }
    }

    public void Reconcile(IReadOnlyCollection<EndpointPolicy> all)
    {
        lock (_lock)
        {
            _programmed.Clear();
            foreach (var policy in all)
                _programmed[policy.Endpoint] = policy;
        }
    }

    public void Update(IReadOnlyCollection<EndpointPolicy> changed, IReadOnlyCollection<EndpointId> removed)
    {
        lock (_lock)
        {
            foreach (var id in removed)
                _programmed.Remove(id);
            foreach (var policy in changed)
                _programmed[policy.Endpoint] = policy;
        }
    }

    public IReadOnlyList<PolicyDropCounter> ReadDropCounters() => [];
}
