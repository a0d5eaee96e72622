using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Compiler;

/// <summary>
/// A participating pod (one with addresses) inside the compiler: one mutable object, so that every selection
/// and policy holding it sees its current labels, ports and addresses, and hashing it costs nothing.
/// </summary>
internal sealed class PodEntry(EndpointId id, Pod pod)
{
    private readonly Dictionary<string, PortSet> resolved = new(ReferenceEqualityComparer.Instance);
    private Pod pod = pod;
    private string? portsSignature;
    private SelectingProfile? profile;

    public EndpointId Id { get; } = id;

    public Pod Pod
    {
        get => pod;
        set
        {
            if (!ReferenceEquals(pod.Ports, value.Ports) && !pod.Ports.SequenceEqual(value.Ports))
            {
                resolved.Clear();
                portsSignature = null;
            }
            pod = value;
        }
    }

    /// <summary>A /32 or /128 match per address.</summary>
    public CidrMatch[] Cidrs { get; set; } = [];

    /// <summary>The compiled form last handed out for this pod.</summary>
    public EndpointPolicy? Compiled { get; set; }

    /// <summary>The policies whose podSelector selects this pod. Change it only through <see cref="Select"/>.</summary>
    public HashSet<PolicyState> SelectedBy { get; } = [];

    public void Select(PolicyState policy, bool selected)
    {
        if (selected ? SelectedBy.Add(policy) : SelectedBy.Remove(policy))
            Profile = null;
    }

    /// <summary>The shared profile of the policies selecting this pod; null until the compiler assigns it.</summary>
    public SelectingProfile? Profile
    {
        get => profile;
        set
        {
            if (profile is not null)
                profile.Users--;
            if (value is not null)
                value.Users++;
            profile = value;
        }
    }

    /// <summary>The container ports as text: pods with equal signatures resolve named ports identically.</summary>
    public string PortsSignature => portsSignature ??= string.Join(',', pod.Ports.Select(p => $"{p.Name}/{p.Protocol}/{p.Number}"));

    /// <summary>
    /// The ports an ingress rule admits on this pod: its numeric ports plus its named ports resolved against
    /// this pod's container ports. Cached per distinct rule port list, since ports rarely change.
    /// </summary>
    public PortSet ResolvedPorts(RuleState rule)
    {
        if (resolved.TryGetValue(rule.NamedKey, out var ports))
            return ports;
        var list = new List<PortMatch>(rule.NumericPorts!);
        NamedPorts.Resolve(rule.NamedPorts, pod, list);
        return resolved[rule.NamedKey] = new PortSet(list.ToArray());
    }
}
