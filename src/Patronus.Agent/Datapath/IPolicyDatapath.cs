using Patronus.Policy.Compiled;

namespace Patronus.Agent.Datapath;

/// <summary>Packets a policy dropped, as counted in the kernel; attributed to a policy where it can be.</summary>
/// <param name="Namespace">Namespace of the endpoint (and of the policy) whose rules dropped the packets.</param>
/// <param name="Policy">The policy the drop is attributed to, or "" when several isolate the endpoint and none can be singled out.</param>
public sealed record PolicyDropCounter(string Namespace, string Policy, string Direction, ulong Packets, ulong Bytes);

/// <summary>
/// A kernel datapath that enforces compiled endpoint policies (nftables first, eBPF later).
/// Every call is one atomic transaction in the kernel: no packet sees a half-applied change.
/// </summary>
public interface IPolicyDatapath
{
    /// <summary>Makes the kernel hold exactly these endpoints' policies (start-up and resync), without a window of open or closed traffic.</summary>
    void Reconcile(IReadOnlyCollection<EndpointPolicy> all);

    /// <summary>Replaces the rules of the changed (or new) endpoints and removes those of the removed ones.</summary>
    void Update(IReadOnlyCollection<EndpointPolicy> changed, IReadOnlyCollection<EndpointId> removed);

    /// <summary>Current drop counters, for patronus_policy_blocks_total.</summary>
    IReadOnlyList<PolicyDropCounter> ReadDropCounters();
}
