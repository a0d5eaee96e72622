using System.Globalization;
using System.Net;

namespace Patronus.Agent.Paths.Steering;

/// <summary>A pod whose traffic this gateway steers, with what its annotations ask for.</summary>
public sealed record SteeredPod(string Namespace, string Name, IReadOnlyList<IPAddress> Ips, QosRequest Qos)
{
    /// <summary>Whether the pod asked for more than its class (its own latency bound or bandwidth): it then gets its own choice.</summary>
    public bool HasOwnSla => Qos.Sla != Qos.Class.Sla;
}

/// <summary>A remote member as the selection sees it: its ranges (what is steered) and its paths as probed now.</summary>
public sealed record MemberPaths(string MemberId, IReadOnlyList<IPNetwork> Ranges, IReadOnlyList<PathCandidate> Paths);

/// <summary>What one chooser uses now: a QoS class's, or a pod's own when it asked for more than its class.</summary>
/// <param name="Key">The class's name, or the class and the pod's own bounds (<c>latency-sensitive max-latency-ms=20</c>).</param>
/// <param name="Change">How this round changed it (None when it stayed).</param>
public sealed record PathChoice(string MemberId, string QosClass, string Key, string? PathId, string Reason, PathChangeKind Change = PathChangeKind.None);

/// <summary>Traffic that moved off a path because it went Down or broke the SLA.</summary>
public sealed record PathFailover(string MemberId, string QosClass, string FromPathId, string? ToPathId, string Reason);

/// <summary>Which path each pod's traffic to one member takes: the default class's path, and the pods that differ from it.</summary>
public sealed record MemberSteering(string MemberId, IReadOnlyList<IPNetwork> Ranges, string? DefaultPathId, IReadOnlyDictionary<IPAddress, string> PodPaths);

/// <summary>One decision round's outcome.</summary>
public sealed record SelectionRound(IReadOnlyList<MemberSteering> Steering, IReadOnlyList<PathChoice> Choices, IReadOnlyList<PathFailover> Failovers, bool Changed);

/// <summary>
/// Per remote member, one <see cref="PathChooser"/> per QoS class (always, so every class's path is known and shown)
/// and one per distinct pod SLA (a pod's own <c>max-latency-ms</c> or <c>min-bandwidth-mbps</c>; pods asking the same
/// share it). Every probe round decides them all; a pod's traffic takes its chooser's path. Pure: time is passed
/// in; not thread-safe.
/// </summary>
/// <para>
/// A member's paths come up one by one (each needs a second of answers), and a first choice made as soon as one is up
/// would keep whichever answered first: a near-equal path never preempts. So nothing is chosen for a member until
/// all its paths are up or <paramref name="settle"/> has passed since it was first seen; meanwhile its traffic is
/// not steered (the main table's route, through its first path).
/// </para>
public sealed class PathSelection(QosClass defaultClass, PathChooserOptions? options = null, TimeSpan? settle = null)
{
    private readonly Dictionary<(string Member, string Key), PathChooser> _choosers = [];
    private readonly Dictionary<string, TimeSpan> _firstSeen = new(StringComparer.Ordinal);
    private IReadOnlyList<MemberSteering> _last = [];

    public QosClass DefaultClass { get; } = defaultClass;

    /// <summary>The key of the chooser a pod's traffic follows.</summary>
    public static string KeyOf(QosRequest qos)
    {
        if (qos.Sla == qos.Class.Sla)
            return qos.Class.Name;
        var parts = new List<string> { qos.Class.Name };
        if (qos.Sla.MaxLatencyMs != qos.Class.Sla.MaxLatencyMs)
            parts.Add($"max-latency-ms={qos.Sla.MaxLatencyMs.ToString(CultureInfo.InvariantCulture)}");
        if (qos.Sla.MinBandwidthMbps is { } minimum && minimum != qos.Class.Sla.MinBandwidthMbps)
            parts.Add($"min-bandwidth-mbps={minimum.ToString(CultureInfo.InvariantCulture)}");
        return string.Join(' ', parts);
    }

    public SelectionRound Decide(IReadOnlyList<MemberPaths> members, IReadOnlyList<SteeredPod> pods, TimeSpan now)
    {
        var choices = new List<PathChoice>();
        var failovers = new List<PathFailover>();
        var steering = new List<MemberSteering>();
        var used = new HashSet<(string, string)>();
        foreach (var gone in _firstSeen.Keys.Where(id => !members.Any(m => m.MemberId == id)).ToList())
            _firstSeen.Remove(gone);
        foreach (var member in members.OrderBy(m => m.MemberId, StringComparer.Ordinal))
        {
            var seen = _firstSeen.TryGetValue(member.MemberId, out var at) ? at : _firstSeen[member.MemberId] = now;
            var settling = now - seen < (settle ?? TimeSpan.Zero) && member.Paths.Any(p => p.State == PathState.Down)
                && !_choosers.Keys.Any(k => k.Member == member.MemberId);
            if (settling)
            {
                steering.Add(new MemberSteering(member.MemberId, member.Ranges, null, new Dictionary<IPAddress, string>()));
                continue;
            }
            var byKey = new Dictionary<string, string?>(StringComparer.Ordinal);
            string? Choose(string key, QosClass qosClass, QosSla sla)
            {
                if (byKey.TryGetValue(key, out var known))
                    return known;
                used.Add((member.MemberId, key));
                if (!_choosers.TryGetValue((member.MemberId, key), out var chooser))
                    _choosers[(member.MemberId, key)] = chooser = new PathChooser(sla, qosClass.Preference, options);
                var decision = chooser.Decide(member.Paths, now);
                // A pod with an SLA of its own has a chooser beside its class's: when both leave a path on the same round,
                // that is one failover of the class's traffic, not two.
                if (decision.Change == PathChangeKind.Failover && decision.PreviousPathId is { } from
                    && !failovers.Any(f => f.MemberId == member.MemberId && f.QosClass == qosClass.Name && f.FromPathId == from))
                    failovers.Add(new PathFailover(member.MemberId, qosClass.Name, from, decision.PathId, decision.Reason));
                choices.Add(new PathChoice(member.MemberId, qosClass.Name, key, decision.PathId, decision.Reason, decision.Change));
                byKey[key] = decision.PathId;
                return decision.PathId;
            }
            foreach (var qosClass in QosClass.All)
                Choose(qosClass.Name, qosClass, qosClass.Sla);
            var defaultPath = byKey[DefaultClass.Name];
            var podPaths = new Dictionary<IPAddress, string>();
            foreach (var pod in pods)
            {
                var path = Choose(KeyOf(pod.Qos), pod.Qos.Class, pod.Qos.Sla);
                if (path is null || path == defaultPath)
                    continue;
                foreach (var ip in pod.Ips)
                    podPaths[ip] = path;
            }
            steering.Add(new MemberSteering(member.MemberId, member.Ranges, defaultPath, podPaths));
        }
        // Choosers nobody follows any more (a pod gone, a member gone) go, with their hysteresis.
        foreach (var stale in _choosers.Keys.Where(k => !used.Contains(k)).ToList())
            _choosers.Remove(stale);
        var changed = !SameSteering(steering, _last);
        _last = steering;
        return new SelectionRound(steering, choices, failovers, changed);
    }

    private static bool SameSteering(IReadOnlyList<MemberSteering> a, IReadOnlyList<MemberSteering> b) =>
        a.Count == b.Count && a.Zip(b).All(p =>
            p.First.MemberId == p.Second.MemberId
            && p.First.DefaultPathId == p.Second.DefaultPathId
            && p.First.Ranges.SequenceEqual(p.Second.Ranges)
            && p.First.PodPaths.Count == p.Second.PodPaths.Count
            && p.First.PodPaths.All(e => p.Second.PodPaths.TryGetValue(e.Key, out var other) && other == e.Value));
}
