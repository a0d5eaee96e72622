using System.Net;
using System.Net.Sockets;
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
/// policy's namespace, namespaceSelector peers by the set of namespaces whose labels match). Equal peers of
/// different policies share one <see cref="Selection"/>, whose address list is built once and shared by
/// every endpoint those policies select. Pods selected by the same set of policies share one
/// <see cref="SelectingProfile"/>, whose compiled directions are built once per update.
/// Compiled objects are immutable once handed out; an endpoint that did not change keeps the same object.
/// Not thread-safe: one writer, and readers after the update returned.
/// </remarks>
public sealed class PolicyCompiler
{
    /// <summary>The label the API server puts on every namespace; the compiler adds it where it is missing.</summary>
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> namespaceLabels = [];
    private readonly Dictionary<string, Namespace> namespaces = [];
    private readonly Dictionary<EndpointId, Pod> pods = [];
    private readonly Dictionary<string, Dictionary<EndpointId, PodEntry>> entriesByNamespace = [];
    private readonly Dictionary<EndpointId, PodEntry> entries = [];
    private readonly Dictionary<string, PolicyState> policies = [];
    private readonly Dictionary<string, List<PolicyState>> policiesByNamespace = [];
    private readonly Dictionary<string, Selection> selections = [];
    private readonly Dictionary<string, HashSet<Selection>> localSelections = [];
    private readonly HashSet<Selection> namespacedSelections = [];
    private readonly HashSet<Selection> addressSelections = [];
    private readonly Dictionary<EndpointId, EndpointPolicy> endpoints = [];
    private readonly Dictionary<string, SelectingProfile> profiles = [];
    private long epoch;
    private int sweepProfilesAt = 64;

    /// <summary>Compiles a whole cluster at once (cheaper than adding the objects one by one).</summary>
    public static PolicyCompiler Create(IEnumerable<Namespace> namespaces, IEnumerable<Pod> pods, IEnumerable<NetworkPolicy> policies)
    {
        var compiler = new PolicyCompiler();
        var pending = new Pending();
        foreach (var ns in namespaces)
            compiler.ApplyNamespace(ns.Name, ns, pending);
        foreach (var pod in pods)
            compiler.ApplyPod(pod.Id, pod, pending);
        foreach (var policy in policies)
            compiler.ApplyPolicy(policy.Key, policy, pending);
        pending.Candidates.UnionWith(compiler.entries.Values);
        compiler.Recompile(pending);
        return compiler;
    }

    /// <summary>The compiled form of every participating pod.</summary>
    public IReadOnlyDictionary<EndpointId, EndpointPolicy> Endpoints => endpoints;

    public IReadOnlyCollection<Namespace> Namespaces => namespaces.Values;

    /// <summary>Every pod, including those without addresses (which have no endpoint).</summary>
    public IReadOnlyCollection<Pod> Pods => pods.Values;

    public IEnumerable<NetworkPolicy> Policies => policies.Values.Select(p => p.Model);

    public EndpointPolicy? Get(EndpointId id) => endpoints.GetValueOrDefault(id);

    public Pod? GetPod(EndpointId id) => pods.GetValueOrDefault(id);

    public NetworkPolicy? GetPolicy(string ns, string name) => policies.GetValueOrDefault($"{ns}/{name}")?.Model;

    public PolicyChanges UpsertNamespace(Namespace ns) => Apply(c => ApplyNamespace(ns.Name, ns, c));

    /// <summary>
    /// Forgets a namespace's labels (it then matches selectors as a bare namespace would). Its pods stay until
    /// they are removed themselves, as their own deletions arrive.
    /// </summary>
    public PolicyChanges RemoveNamespace(string name) => Apply(c => ApplyNamespace(name, null, c));

    public PolicyChanges UpsertPod(Pod pod) => Apply(c => ApplyPod(pod.Id, pod, c));

    public PolicyChanges RemovePod(string ns, string name) => Apply(c => ApplyPod(new EndpointId(ns, name), null, c));

    public PolicyChanges UpsertPolicy(NetworkPolicy policy) => Apply(c => ApplyPolicy(policy.Key, policy, c));

    public PolicyChanges RemovePolicy(string ns, string name) => Apply(c => ApplyPolicy($"{ns}/{name}", null, c));

    private PolicyChanges Apply(Action<Pending> change)
    {
        var pending = new Pending();
        epoch++;
        change(pending);
        return Recompile(pending);
    }

    /// <summary>What one update may have changed: pods to recompile, and pods that left.</summary>
    private sealed class Pending
    {
        public HashSet<PodEntry> Candidates { get; } = [];

        public List<EndpointId> Gone { get; } = [];
    }

    private static IReadOnlyDictionary<string, string> EffectiveLabels(string name, IReadOnlyDictionary<string, string>? labels)
    {
        if (labels is not null && labels.ContainsKey(NamespaceNameLabel))
            return labels;
        var effective = labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);
        effective[NamespaceNameLabel] = name;
        return effective;
    }

    private void ApplyNamespace(string name, Namespace? ns, Pending candidates)
    {
        if (ns is null)
            namespaces.Remove(name);
        else
            namespaces[name] = ns;
        SetNamespaceLabels(name, EffectiveLabels(name, ns?.Labels), candidates);
    }

    private void SetNamespaceLabels(string name, IReadOnlyDictionary<string, string> labels, Pending candidates)
    {
        namespaceLabels[name] = labels;
        var inNamespace = entriesByNamespace.GetValueOrDefault(name);
        foreach (var selection in namespacedSelections)
        {
            var was = selection.MatchingNamespaces.Contains(name);
            var now = selection.NamespaceSelector!.Matches(labels);
            if (was == now)
                continue;
            if (now)
                selection.MatchingNamespaces.Add(name);
            else
                selection.MatchingNamespaces.Remove(name);
            var touched = false;
            if (inNamespace is not null)
                foreach (var (id, entry) in inNamespace)
                    touched |= now ? TryMatch(selection, id, entry) : selection.Matched.Remove(id);
            if (touched)
                SelectionChanged(selection, candidates);
        }
    }

    private static bool TryMatch(Selection selection, EndpointId id, PodEntry entry)
    {
        if (!selection.Matches(entry.Pod))
            return false;
        selection.Matched[id] = entry;
        return true;
    }

    /// <summary>Every rule that uses the selection is rebuilt, and every endpoint its policy selects recompiled.</summary>
    private static void SelectionChanged(Selection selection, Pending candidates)
    {
        selection.Invalidate();
        foreach (var user in selection.Users)
        {
            user.Rule.Invalidate();
            candidates.Candidates.UnionWith(user.Rule.Policy.Selected);
        }
    }

    private void ApplyPod(EndpointId id, Pod? pod, Pending candidates)
    {
        var old = pods.GetValueOrDefault(id);
        if (old is not null && pod is not null && SamePod(old, pod))
            return;
        if (pod is null)
            pods.Remove(id);
        else
            pods[id] = pod;
        if (pod is not null && !namespaceLabels.ContainsKey(id.Namespace))
            SetNamespaceLabels(id.Namespace, EffectiveLabels(id.Namespace, null), candidates);

        // Only pods with addresses take part; one that loses its addresses leaves like a deleted pod.
        var before = entries.GetValueOrDefault(id);
        var after = pod is not null && pod.Addresses.Count > 0 ? pod : null;
        var addressesChanged = before is null || after is null || !before.Pod.Addresses.SequenceEqual(after.Addresses);
        var portsChanged = before is null || after is null || !before.Pod.Ports.SequenceEqual(after.Ports);
        PodEntry? entry = null;
        if (after is null)
        {
            if (before is not null)
            {
                entries.Remove(id);
                entriesByNamespace[id.Namespace].Remove(id);
                candidates.Gone.Add(id);
                before.Profile = null;
            }
        }
        else
        {
            entry = before ?? new PodEntry(id, after);
            entry.Pod = after;
            if (addressesChanged)
                entry.Cidrs = after.Addresses.Select(HostMatch).ToArray();
            if (before is null)
            {
                entries[id] = entry;
                if (!entriesByNamespace.TryGetValue(id.Namespace, out var inNamespace))
                    entriesByNamespace[id.Namespace] = inNamespace = [];
                inNamespace[id] = entry;
            }
            candidates.Candidates.Add(entry);
        }

        if (policiesByNamespace.TryGetValue(id.Namespace, out var local))
            foreach (var policy in local)
            {
                if (entry is not null && policy.Model.PodSelector.Matches(entry.Pod.Labels))
                {
                    policy.Selected.Add(entry);
                    entry.Select(policy, true);
                }
                else if (before is not null)
                {
                    policy.Selected.Remove(before);
                    before.Select(policy, false);
                }
            }

        foreach (var selection in SelectionsThatMayMatch(id.Namespace))
        {
            var was = selection.Matched.ContainsKey(id);
            var now = entry is not null && selection.Matches(entry.Pod);
            if (now)
                selection.Matched[id] = entry!;
            else if (was)
                selection.Matched.Remove(id);
            if (was != now || (now && (addressesChanged || (portsChanged && selection.NeedsPorts))))
                SelectionChanged(selection, candidates);
        }
    }

    private IEnumerable<Selection> SelectionsThatMayMatch(string ns)
    {
        if (localSelections.TryGetValue(ns, out var local))
            foreach (var selection in local)
                yield return selection;
        foreach (var selection in namespacedSelections)
            if (selection.MatchingNamespaces.Contains(ns))
                yield return selection;
        foreach (var selection in addressSelections)
            yield return selection;
    }

    private static bool SamePod(Pod a, Pod b) =>
        a.Addresses.SequenceEqual(b.Addresses) && a.Ports.SequenceEqual(b.Ports) &&
        a.Labels.Count == b.Labels.Count && a.Labels.All(l => b.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    private static CidrMatch HostMatch(IPAddress address) =>
        new(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32), []);

    private void ApplyPolicy(string key, NetworkPolicy? policy, Pending candidates)
    {
        if (policies.Remove(key, out var old))
        {
            candidates.Candidates.UnionWith(old.Selected);
            foreach (var entry in old.Selected)
                entry.Select(old, false);
            foreach (var profile in old.Profiles)
                profiles.Remove(profile);
            policiesByNamespace[old.Model.Namespace].Remove(old);
            foreach (var peer in old.Peers)
                if (peer.Selection is { } selection && selection.Users.Remove(peer) && selection.Users.Count == 0)
                    Forget(selection);
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


        if (entriesByNamespace.TryGetValue(policy.Namespace, out var localEntries))
            foreach (var entry in localEntries.Values)
                if (policy.PodSelector.Matches(entry.Pod.Labels))
                {
                    state.Selected.Add(entry);
                    entry.Select(state, true);
                }
        candidates.Candidates.UnionWith(state.Selected);

        foreach (var peer in state.Peers)
        {
            if (!peer.TracksPods)
                continue;
            var selectionKey = Selection.KeyOf(peer.Kind, policy.Namespace, peer.Model);
            if (!selections.TryGetValue(selectionKey, out var selection))
                selections[selectionKey] = selection = Populate(new Selection(selectionKey, peer.Kind, policy.Namespace, peer.Model));
            selection.Users.Add(peer);
            peer.Selection = selection;
        }
    }

    private Selection Populate(Selection selection)
    {
        switch (selection.Kind)
        {
            case PeerKind.Local:
                if (!localSelections.TryGetValue(selection.Namespace!, out var set))
                    localSelections[selection.Namespace!] = set = [];
                set.Add(selection);
                if (entriesByNamespace.TryGetValue(selection.Namespace!, out var localEntries))
                    foreach (var (id, entry) in localEntries)
                        TryMatch(selection, id, entry);
                break;
            case PeerKind.Namespaced:
                namespacedSelections.Add(selection);
                foreach (var (name, labels) in namespaceLabels)
                {
                    if (!selection.NamespaceSelector!.Matches(labels))
                        continue;
                    selection.MatchingNamespaces.Add(name);
                    if (entriesByNamespace.TryGetValue(name, out var matched))
                        foreach (var (id, entry) in matched)
                            TryMatch(selection, id, entry);
                }
                break;
            default:
                addressSelections.Add(selection);
                foreach (var (id, entry) in entries)
                    TryMatch(selection, id, entry);
                break;
        }
        return selection;
    }

    private void Forget(Selection selection)
    {
        selections.Remove(selection.Key);
        if (selection.Namespace is not null)
            localSelections.GetValueOrDefault(selection.Namespace)?.Remove(selection);
        namespacedSelections.Remove(selection);
        addressSelections.Remove(selection);
    }

    private PolicyChanges Recompile(Pending pending)
    {
        var changed = new List<EndpointId>();
        var removed = new List<EndpointId>();
        foreach (var id in pending.Gone)
            if (endpoints.Remove(id))
                removed.Add(id);
        foreach (var entry in pending.Candidates)
        {
            // An entry that left during this update (its pod was removed) is among the gone.
            if (!entries.TryGetValue(entry.Id, out var live) || !ReferenceEquals(live, entry))
                continue;
            var compiled = Compile(entry);
            if (entry.Compiled is { } previous && CompiledEquality.Same(previous, compiled))
                continue;
            entry.Compiled = compiled;
            endpoints[entry.Id] = compiled;
            changed.Add(entry.Id);
        }
        return changed.Count == 0 && removed.Count == 0 ? PolicyChanges.None : new PolicyChanges(changed, removed);
    }

    private EndpointPolicy Compile(PodEntry entry)
    {
        var pod = entry.Pod;
        if (entry.SelectedBy.Count == 0)
            return new EndpointPolicy(entry.Id, pod.Addresses, DirectionPolicy.Open, DirectionPolicy.Open);
        var (ingress, egress) = (entry.Profile ??= ProfileOf(entry)).Directions(entry, epoch);
        return new EndpointPolicy(entry.Id, pod.Addresses, ingress, egress);
    }

    /// <summary>Drops profiles no pod holds any more (after relabels); amortized over profile creations.</summary>
    private void SweepProfiles()
    {
        foreach (var dead in profiles.Values.Where(p => p.Users == 0).ToList())
        {
            profiles.Remove(dead.Key);
            foreach (var policy in dead.Policies)
                policy.Profiles.Remove(dead.Key);
        }
        sweepProfilesAt = Math.Max(64, profiles.Count * 2);
    }

    private SelectingProfile ProfileOf(PodEntry entry)
    {
        var selecting = policiesByNamespace[entry.Id.Namespace].Where(entry.SelectedBy.Contains).ToArray();
        var key = string.Join(',', selecting.Select(p => p.Serial));
        if (profiles.TryGetValue(key, out var profile))
            return profile;
        if (profiles.Count >= sweepProfilesAt)
            SweepProfiles();
        profiles[key] = profile = new SelectingProfile(key, selecting);
        foreach (var policy in selecting)
            policy.Profiles.Add(key);
        return profile;
    }
}
