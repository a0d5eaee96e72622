using System.Net;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.State;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Endpoints;

/// <summary>
/// The endpoints the plugin registered on this node, kept in memory and in the database. A pod normally has
/// one (eth0); one per interface when a runtime attaches several.
/// </summary>
public sealed class EndpointRegistry(AgentDatabase database)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string ContainerId, string IfName), EndpointRegistration> _endpoints = [];

    /// <summary>
    /// Loads what the database holds (at start-up, before anything else reads the registry). Rows an older
    /// agent stored without checking them are left out, each reported: one bad row must not keep every pod
    /// on the node from being programmed. They stay in the database, so the plugin's DEL still removes them.
    /// </summary>
    public IReadOnlyList<(EndpointRegistration Endpoint, string Problem)> Load()
    {
        var skipped = new List<(EndpointRegistration, string)>();
        lock (_lock)
        {
            foreach (var endpoint in database.LoadEndpoints())
            {
                if (EndpointValidation.Problem(endpoint) is { } problem)
                    skipped.Add((endpoint, problem));
                else
                    _endpoints[(endpoint.ContainerId, endpoint.IfName)] = endpoint;
            }
        }
        return skipped;
    }

    /// <summary>Records an endpoint (again, for a repeated ADD) and returns the pod it belongs to, plus the pod it replaced if the container moved.</summary>
    public (EndpointId Pod, EndpointId? Previous) Add(EndpointRegistration endpoint)
    {
        lock (_lock)
        {
            database.SaveEndpoint(endpoint);
            _endpoints.TryGetValue((endpoint.ContainerId, endpoint.IfName), out var previous);
            _endpoints[(endpoint.ContainerId, endpoint.IfName)] = endpoint;
            var pod = PodOf(endpoint);
            return (pod, previous is not null && PodOf(previous) != pod ? PodOf(previous) : null);
        }
    }

    /// <summary>Forgets an endpoint; returns the pod it belonged to, or null when it was unknown (DEL may repeat).</summary>
    public EndpointId? Remove(string containerId, string ifName)
    {
        lock (_lock)
        {
            database.DeleteEndpoint(containerId, ifName);
            return _endpoints.Remove((containerId, ifName), out var removed) ? PodOf(removed) : null;
        }
    }

    /// <summary>The registered addresses of a local pod (empty when the pod is not local).</summary>
    public IReadOnlyList<IPAddress> AddressesOf(EndpointId pod)
    {
        lock (_lock)
        {
            return _endpoints.Values
                .Where(e => PodOf(e) == pod)
                .SelectMany(e => e.Addresses)
                .Select(a => IPNetwork.TryParse(a, out _) ? IPAddress.Parse(a.Split('/')[0]) : null)
                .OfType<IPAddress>()
                .Distinct()
                .ToArray();
        }
    }

    public IReadOnlySet<EndpointId> Pods
    {
        get
        {
            lock (_lock)
                return _endpoints.Values.Select(PodOf).ToHashSet();
        }
    }

    public IReadOnlyList<EndpointRegistration> All
    {
        get
        {
            lock (_lock)
                return _endpoints.Values.ToArray();
        }
    }

    private static EndpointId PodOf(EndpointRegistration endpoint) => new(endpoint.PodNamespace, endpoint.PodName);
}
