using System.Net;
using Patronus.Policy.Compiled;

namespace Patronus.Policy.Model;

/// <summary>The directions a policy applies to (NetworkPolicySpec.policyTypes).</summary>
[Flags]
public enum PolicyTypes
{
    None = 0,
    Ingress = 1,
    Egress = 2,
}

/// <summary>An <c>ipBlock</c> peer: the CIDR minus the excepted CIDRs (each inside the CIDR, same family).</summary>
public sealed record IpBlock(IPNetwork Cidr, IReadOnlyList<IPNetwork> Except);

/// <summary>
/// One entry of a rule's <c>from</c>/<c>to</c>: pod and/or namespace selectors, or an ipBlock.
/// With only <see cref="PodSelector"/> it means pods of the policy's namespace; with
/// <see cref="NamespaceSelector"/> pods (all, or those matching the pod selector) in matching namespaces.
/// </summary>
public sealed record PolicyPeer(LabelSelector? PodSelector, LabelSelector? NamespaceSelector, IpBlock? IpBlock)
{
    public static PolicyPeer Pods(LabelSelector podSelector) => new(podSelector, null, null);
    public static PolicyPeer Namespaces(LabelSelector namespaceSelector, LabelSelector? podSelector = null) => new(podSelector, namespaceSelector, null);
    public static PolicyPeer Block(IpBlock block) => new(null, null, block);
}

/// <summary>
/// One entry of a rule's <c>ports</c>. Neither <see cref="Number"/> nor <see cref="Name"/>: every port of
/// the protocol. <see cref="EndPort"/> (with a number only) makes an inclusive range.
/// </summary>
public sealed record PolicyPort(Protocol Protocol, int? Number = null, string? Name = null, int? EndPort = null)
{
    public override string ToString() =>
        $"{(Name ?? Number?.ToString() ?? "*")}{(EndPort is { } end ? $"-{end}" : "")}/{Protocol.ToString().ToUpperInvariant()}";
}

/// <summary>
/// An ingress or egress rule. Empty <see cref="Peers"/> matches every peer; empty <see cref="Ports"/>
/// matches every port of every protocol (as the API defines an absent or empty list).
/// </summary>
public sealed record PolicyRule(IReadOnlyList<PolicyPeer> Peers, IReadOnlyList<PolicyPort> Ports)
{
    public static readonly PolicyRule AllowAll = new([], []);
}

/// <summary>A networking.k8s.io/v1 NetworkPolicy with <see cref="Types"/> already defaulted.</summary>
public sealed record NetworkPolicy(
    string Namespace,
    string Name,
    LabelSelector PodSelector,
    PolicyTypes Types,
    IReadOnlyList<PolicyRule> Ingress,
    IReadOnlyList<PolicyRule> Egress)
{
    public string Key => $"{Namespace}/{Name}";

    /// <summary>
    /// The API default when <c>policyTypes</c> is absent or empty: Ingress always, Egress when the policy
    /// has at least one egress rule (networking/v1 SetDefaults_NetworkPolicy).
    /// </summary>
    public static PolicyTypes DefaultTypes(IReadOnlyCollection<PolicyRule> egress) =>
        egress.Count > 0 ? PolicyTypes.Ingress | PolicyTypes.Egress : PolicyTypes.Ingress;
}
