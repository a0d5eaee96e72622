using System.Net;
using Patronus.Policy.Compiled;

namespace Patronus.Policy.Model;

/// <summary>A namespace and its labels. The API server always sets <c>kubernetes.io/metadata.name</c>; the compiler adds it when absent.</summary>
public sealed record Namespace(string Name, IReadOnlyDictionary<string, string> Labels);

/// <summary>A port a container declares; <see cref="Name"/> is what a NetworkPolicy's named port refers to.</summary>
public sealed record ContainerPort(string? Name, int Number, Protocol Protocol);

/// <summary>
/// A pod as policy sees it. A pod without <see cref="Addresses"/> takes no part in policy (it has no endpoint
/// and no peer matches it) until it gets one.
/// </summary>
public sealed record Pod(
    string Namespace,
    string Name,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<IPAddress> Addresses,
    IReadOnlyList<ContainerPort> Ports)
{
    public EndpointId Id => new(Namespace, Name);
}
