using Patronus.Policy.Compiled;

namespace Patronus.Agent.Policy;

/// <summary>What the rest of the agent asks of the policy feature: the socket's requests, the spool drainer, status, and features that must wait for policy (the conflist).</summary>
public interface IPolicyEnforcement
{
    /// <summary>Completes once the initial sync is done and the datapath holds every local endpoint's policy.</summary>
    Task Ready { get; }

    /// <summary>
    /// Asks for pods' endpoints to be (re)programmed after a register or unregister; completes once the datapath call
    /// that includes them has returned, and fails with the datapath's error.
    /// </summary>
    Task EndpointsChangedAsync(params EndpointId[] pods);

    /// <summary>The compiled policy currently programmed for a local pod, or null.</summary>
    EndpointPolicy? Programmed(EndpointId pod);
}
