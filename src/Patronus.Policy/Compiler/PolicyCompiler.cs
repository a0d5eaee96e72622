using System.Net;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Compiler;

/// <summary>
/// Compiles the cluster's namespaces, pods and NetworkPolicies into one <see cref="EndpointPolicy"/> per
/// participating pod (a pod with at least one address), and keeps it current as objects change. Every
/// update returns the endpoints whose compiled form changed, so a datapath reprograms only those.
/// </summary>
/// <remarks>
/// Policies are indexed by namespace (a pod change only re-evaluates the podSelectors of its own
/// namespace's policies); peers are indexed by the namespaces they can match (podSelector-only peers by the
/// policy's namespace, namespaceSelector peers by the set of namespaces whose labels match). Peer address
/// lists are built once per peer and shared by every endpoint the policy selects.
/// Not thread-safe: one writer, and readers after the update returned.
/// </remarks>
public sealed class PolicyCompiler
{
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> namespaceLabels = [];
    private readonly Dictionary<string, Namespace> namespaces = [];
    private readonly Dictionary<EndpointId, Pod> pods = [];
    private readonly Dictionary<string, Dictionary<EndpointId, Pod>> podsByNamespace = [];
    private readonly Dictionary<EndpointId, CidrMatch[]> podCidrs = [];
    private readonly Dictionary<string, PolicyState> policies = [];
    private readonly Dictionary<string, List<PolicyState>> policiesByNamespace = [];
    private readonly Dictionary<string, HashSet<PeerState>> localPeers = [];
    private readonly HashSet<PeerState> namespacedPeers = [];
    private readonly HashSet<PeerState> addressPeers = [];
    private readonly Dictionary<EndpointId, EndpointPolicy> endpoints = [];
    private readonly Func<EndpointId, CidrMatch[]> cidrsOf;

    public PolicyCompiler()
    {
        cidrsOf = id => podCidrs[id];
    }

    /// <summary>Compiles a whole cluster at once (cheaper than adding the objects one by one).</summary>
    public static PolicyCompiler Create(IEnumerable<Namespace> namespaces, IEnumerable<Pod> pods, IEnumerable<NetworkPolicy> policies)
    {
        var compiler = new PolicyCompiler();
        var pending = new HashSet<EndpointId>();
        foreach (var ns in namespaces)
            compiler.ApplyNamespace(ns.Name, ns, pending);
        foreach (var pod in pods)
            compiler.ApplyPod(pod.Id, pod, pending);
        foreach (var policy in policies)
            compiler.ApplyPolicy(policy.Key, policy, pending);
        compiler.Recompile(compiler.podCidrs.Keys.ToList());
        return compiler;
    }

    /// <summary>The compiled form of every participating pod.</summary>
    public IReadOnlyDictionary<EndpointId, EndpointPolicy> Endpoints => endpoints;

    public IReadOnlyCollection<Namespace> Namespaces => namespaces.Values;

    public IReadOnlyCollection<Pod> Pods => pods.Values;

    public IEnumerable<NetworkPolicy> Policies => policies.Values.Select(p => p.Model);

    public EndpointPolicy? Get(EndpointId id) => endpoints.GetValueOrDefault(id);

    public Pod? GetPod(EndpointId id) => pods.GetValueOrDefault(id);

    public PolicyChanges UpsertNamespace(Namespace ns)
    {
        var candidates = new HashSet<EndpointId>();
        ApplyNamespace(ns.Name, ns, candidates);
        return Recompile(candidates);
    }

    /// <summary>
    /// Forgets a namespace's labels (it then matches selectors as a bare namespace would). Its pods stay until
    /// they are removed themselves, as their own deletions arrive.
    /// </summary>
    public PolicyChanges RemoveNamespace(string name)
    {
        var candidates = new HashSet<EndpointId>();
        ApplyNamespace(name, null, candidates);
        return Recompile(candidates);
    }

    public PolicyChanges UpsertPod(Pod pod)
    {
        var candidates = new HashSet<EndpointId>();
        ApplyPod(pod.Id, pod, candidates);
        return Recompile(candidates);
    }

    public PolicyChanges RemovePod(string ns, string name)
    {
        var candidates = new HashSet<EndpointId>();
        ApplyPod(new EndpointId(ns, name), null, candidates);
        return Recompile(candidates);
    }

    public PolicyChanges UpsertPolicy(NetworkPolicy policy)
    {
        var candidates = new HashSet<EndpointId>();
        ApplyPolicy(policy.Key, policy, candidates);
        return Recompile(candidates);
    }

    public PolicyChanges RemovePolicy(string ns, string name)
    {
        var candidates = new HashSet<EndpointId>();
        ApplyPolicy($"{ns}/{name}", null, candidates);
        return Recompile(candidates);
    }

    private static IReadOnlyDictionary<string, string> EffectiveLabels(string name, IReadOnlyDictionary<string, string>? labels)
    {
        if (labels is not null && labels.ContainsKey(NamespaceNameLabel))
            return labels;
        var effective = labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);
        effective[NamespaceNameLabel] = name;
        return effective;
    }

    private void ApplyNamespace(string name, Namespace? ns, HashSet<EndpointId> candidates)
    {
        if (ns is null)
            namespaces.Remove(name);
        else
            namespaces[name] = ns;
        SetNamespaceLabels(name, EffectiveLabels(name, ns?.Labels), candidates);
    }

    private void SetNamespaceLabels(string name, IReadOnlyDictionary<string, string> labels, HashSet<EndpointId> candidates)
    {
        namespaceLabels[name] = labels;
        foreach (var peer in namespacedPeers)
        {
            var was = peer.MatchingNamespaces.Contains(name);
            var now = peer.Model!.NamespaceSelector!.Matches(labels);
            if (was == now)
                continue;
            if (now)
                peer.MatchingNamespaces.Add(name);
            else
                peer.MatchingNamespaces.Remove(name);
            var touched = false;
            if (podsByNamespace.TryGetValue(name, out var inNamespace))
                foreach (var (id, pod) in inNamespace)
                {
                    if (!podCidrs.ContainsKey(id))
                        continue;
                    touched |= now ? TryMatch(peer, id, pod) : peer.Matched.Remove(id);
                }
            if (touched)
                PeerChanged(peer, candidates);
        }
    }

    private bool TryMatch(PeerState peer, EndpointId id, Pod pod)
    {
        if (!peer.Matches(pod))
            return false;
        peer.Matched[id] = pod;
        return true;
    }

    private void PeerChanged(PeerState peer, HashSet<EndpointId> candidates)
    {
        peer.Invalidate();
        candidates.UnionWith(peer.Rule.Policy.Selected);
    }

    private void ApplyPod(EndpointId id, Pod? pod, HashSet<EndpointId> candidates)
    {
        var old = pods.GetValueOrDefault(id);
        if (old is not null && pod is not null && SamePod(old, pod))
            return;
        candidates.Add(id);
        if (pod is not null && !namespaceLabels.ContainsKey(id.Namespace))
            SetNamespaceLabels(id.Namespace, EffectiveLabels(id.Namespace, null), candidates);

        var before = old is not null && old.Addresses.Count > 0 ? old : null;
        var after = pod is not null && pod.Addresses.Count > 0 ? pod : null;
        if (pod is null)
        {
            pods.Remove(id);
            podsByNamespace.GetValueOrDefault(id.Namespace)?.Remove(id);
        }
        else
        {
            pods[id] = pod;
            if (!podsByNamespace.TryGetValue(id.Namespace, out var inNamespace))
                podsByNamespace[id.Namespace] = inNamespace = [];
            inNamespace[id] = pod;
        }
        var addressesChanged = before is null || after is null || !before.Addresses.SequenceEqual(after.Addresses);
        if (after is null)
            podCidrs.Remove(id);
        else if (addressesChanged)
            podCidrs[id] = after.Addresses.Select(HostMatch).ToArray();
        var portsChanged = before is null || after is null || !before.Ports.SequenceEqual(after.Ports);

        if (policiesByNamespace.TryGetValue(id.Namespace, out var local))
            foreach (var policy in local)
                if (after is not null && policy.Model.PodSelector.Matches(after.Labels))
                    policy.Selected.Add(id);
                else
                    policy.Selected.Remove(id);

        foreach (var peer in PeersThatMayMatch(id.Namespace))
        {
            var was = peer.Matched.ContainsKey(id);
            var now = after is not null && peer.Matches(after);
            if (now)
                peer.Matched[id] = after!;
            else if (was)
                peer.Matched.Remove(id);
            if (was != now || (now && (addressesChanged || (portsChanged && peer.Rule.IsEgress && peer.Rule.HasNamedPorts))))
                PeerChanged(peer, candidates);
        }
    }

    private IEnumerable<PeerState> PeersThatMayMatch(string ns)
    {
        if (localPeers.TryGetValue(ns, out var local))
            foreach (var peer in local)
                yield return peer;
        foreach (var peer in namespacedPeers)
            if (peer.MatchingNamespaces.Contains(ns))
                yield return peer;
        foreach (var peer in addressPeers)
            yield return peer;
    }

    private static bool SamePod(Pod a, Pod b) =>
        a.Addresses.SequenceEqual(b.Addresses) && a.Ports.SequenceEqual(b.Ports) &&
        a.Labels.Count == b.Labels.Count && a.Labels.All(l => b.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    private static CidrMatch HostMatch(IPAddress address) =>
        new(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32), []);

    private void ApplyPolicy(string key, NetworkPolicy? policy, HashSet<EndpointId> candidates)
    {
        if (policies.Remove(key, out var old))
        {
            candidates.UnionWith(old.Selected);
            policiesByNamespace[old.Model.Namespace].Remove(old);
            foreach (var peer in old.Peers)
            {
                localPeers.GetValueOrDefault(peer.PolicyNamespace)?.Remove(peer);
                namespacedPeers.Remove(peer);
                addressPeers.Remove(peer);
            }
        }
        if (policy is null)
            return;

        var state = new PolicyState(policy);
        policies[key] = state;
        if (!policiesByNamespace.TryGetValue(policy.Namespace, out var inNamespace))
            policiesByNamespace[policy.Namespace] = inNamespace = [];
        // Kept in name order so that IsolatedBy and rule order do not depend on arrival order.
        var at = inNamespace.FindIndex(p => string.CompareOrdinal(p.Model.Name, policy.Name) > 0);
        inNamespace.Insert(at < 0 ? inNamespace.Count : at, state);

        var localPods = podsByNamespace.GetValueOrDefault(policy.Namespace);
        if (localPods is not null)
            foreach (var (id, pod) in localPods)
                if (podCidrs.ContainsKey(id) && policy.PodSelector.Matches(pod.Labels))
                    state.Selected.Add(id);
        candidates.UnionWith(state.Selected);

        foreach (var peer in state.Peers)
        {
            switch (peer.Kind)
            {
                case PeerKind.Local:
                    if (!localPeers.TryGetValue(policy.Namespace, out var set))
                        localPeers[policy.Namespace] = set = [];
                    set.Add(peer);
                    if (localPods is not null)
                        foreach (var (id, pod) in localPods)
                            if (podCidrs.ContainsKey(id))
                                TryMatch(peer, id, pod);
                    break;
                case PeerKind.Namespaced:
                    namespacedPeers.Add(peer);
                    foreach (var (name, labels) in namespaceLabels)
                    {
                        if (!peer.Model!.NamespaceSelector!.Matches(labels))
                            continue;
                        peer.MatchingNamespaces.Add(name);
                        if (podsByNamespace.TryGetValue(name, out var matchedPods))
                            foreach (var (id, pod) in matchedPods)
                                if (podCidrs.ContainsKey(id))
                                    TryMatch(peer, id, pod);
                    }
                    break;
                default:
                    if (!peer.TracksPods)
                        break;
                    addressPeers.Add(peer);
                    foreach (var (id, pod) in pods)
                        if (podCidrs.ContainsKey(id))
                            TryMatch(peer, id, pod);
                    break;
            }
        }
    }

    private PolicyChanges Recompile(IReadOnlyCollection<EndpointId> candidates)
    {
        if (candidates.Count == 0)
            return PolicyChanges.None;
        var changed = new List<EndpointId>();
        var removed = new List<EndpointId>();
        foreach (var id in candidates)
        {
            var previous = endpoints.GetValueOrDefault(id);
            if (!podCidrs.ContainsKey(id))
            {
                if (previous is not null)
                {
                    endpoints.Remove(id);
                    removed.Add(id);
                }
                continue;
            }
            var compiled = Compile(pods[id]);
            if (previous is not null && CompiledEquality.Same(previous, compiled))
                continue;
            endpoints[id] = compiled;
            changed.Add(id);
        }
        return changed.Count == 0 && removed.Count == 0 ? PolicyChanges.None : new PolicyChanges(changed, removed);
    }

    private EndpointPolicy Compile(Pod pod)
    {
        var id = pod.Id;
        List<string>? ingressBy = null, egressBy = null;
        List<AllowRule>? ingress = null, egress = null;
        if (policiesByNamespace.TryGetValue(pod.Namespace, out var local))
            foreach (var policy in local)
            {
                if (!policy.Selected.Contains(id))
                    continue;
                if (policy.AppliesTo(PolicyTypes.Ingress))
                {
                    (ingressBy ??= []).Add(policy.Key);
                    ingress ??= [];
                    foreach (var rule in policy.Ingress)
                        rule.AppendIngress(pod, cidrsOf, ingress);
                }
                if (policy.AppliesTo(PolicyTypes.Egress))
                {
                    (egressBy ??= []).Add(policy.Key);
                    egress ??= [];
                    foreach (var rule in policy.Egress)
                        egress.AddRange(rule.SharedRules(cidrsOf));
                }
            }
        return new EndpointPolicy(
            id,
            pod.Addresses,
            ingressBy is null ? DirectionPolicy.Open : new DirectionPolicy(true, ingressBy, ingress!),
            egressBy is null ? DirectionPolicy.Open : new DirectionPolicy(true, egressBy, egress!));
    }
}
