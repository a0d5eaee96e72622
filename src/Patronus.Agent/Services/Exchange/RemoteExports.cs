using Patronus.Agent.Services.Announcement;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.Exchange;

/// <summary>Whether a remote cluster is reachable now: its endpoints are withdrawn while it is not.</summary>
public interface IClusterLiveness
{
    bool IsAlive(string cluster);
}

/// <summary>
/// What the other clusters export, as heard from verified messages, and whether each is alive. The liveness signal is the
/// clusters' own signed heartbeats: a cluster not heard for <see cref="ServicesOptions.DeadAfter"/> is dead (its
/// endpoints are withdrawn; its exports stay, so its VIPs and names stay and its endpoints return with it); one silent
/// for <see cref="ServicesOptions.ForgetAfter"/> is forgotten. Pure: time is passed in; not thread-safe (the exchange locks).
/// </summary>
public sealed class RemoteExports(ServicesOptions options, string ownCluster)
{
    private readonly Dictionary<string, ClusterState> _clusters = new(StringComparer.Ordinal);

    private sealed class ClusterState
    {
        public DateTimeOffset LastHeard;
        public DateTimeOffset LastHeartbeat = DateTimeOffset.MinValue;
        public bool Alive;
        public readonly Dictionary<ServiceKey, (ServiceAnnouncement Announcement, DateTimeOffset Heard)> Exports = [];
        public readonly Dictionary<ServiceKey, ulong> Sequences = [];
    }

    /// <summary>Takes a verified message in; true when what the imports are made of changed.</summary>
    public bool Accept(OpenedServiceMessage message, DateTimeOffset now, out string? problem)
    {
        problem = null;
        if (message.MemberId == ownCluster)
            return false;
        if (!_clusters.TryGetValue(message.MemberId, out var state))
            _clusters[message.MemberId] = state = new ClusterState();
        var changed = false;
        if (message.Kind == ServiceMessageKind.Heartbeat)
        {
            // Heartbeats carry no sequence: their timestamps must grow, or an old one replayed would keep a dead cluster alive.
            if (message.Timestamp <= state.LastHeartbeat)
            {
                problem = $"heartbeat of '{message.MemberId}' at {message.Timestamp:O} is not newer than the last";
                return false;
            }
            state.LastHeartbeat = message.Timestamp;
        }
        else
        {
            ServiceAnnouncement announcement;
            try
            {
                announcement = ServiceAnnouncementCodec.Decode(message.Payload);
            }
            catch (ServiceAnnouncementFormatException e)
            {
                problem = $"announcement of '{message.MemberId}': {e.Message}";
                return false;
            }
            if (announcement.ClusterId != message.MemberId)
            {
                problem = $"'{message.MemberId}' signed an announcement for cluster '{announcement.ClusterId}'";
                return false;
            }
            if (state.Sequences.TryGetValue(announcement.Service, out var last) && announcement.Sequence <= last)
            {
                if (announcement.Sequence < last)
                    problem = $"sequence {announcement.Sequence} of '{message.MemberId}' for {announcement.Service} is below the last accepted, {last}";
                else if (state.Exports.TryGetValue(announcement.Service, out var same))
                    state.Exports[announcement.Service] = (same.Announcement, now); // a refresh of what we hold
                else if (!announcement.Withdrawn)
                {
                    // The sender's current export, which expiry dropped here: one sequence number stands for one content, so it is taken back.
                    state.Exports[announcement.Service] = (announcement, now);
                    changed = true;
                }
            }
            else
            {
                state.Sequences[announcement.Service] = announcement.Sequence;
                if (announcement.Withdrawn)
                    changed |= state.Exports.Remove(announcement.Service);
                else
                {
                    changed |= !state.Exports.TryGetValue(announcement.Service, out var held) || !SameExport(held.Announcement, announcement);
                    state.Exports[announcement.Service] = (announcement, now);
                }
            }
        }
        state.LastHeard = now;
        if (!state.Alive)
        {
            // Back from silence: what it exported gets a whole expiry period for its next refresh, not the time it was away.
            foreach (var (service, held) in state.Exports.ToList())
                state.Exports[service] = (held.Announcement, now);
            state.Alive = true;
            changed = true;
        }
        return changed;
    }

    /// <summary>Marks clusters dead or forgets them, and drops exports no longer refreshed; true when anything changed.</summary>
    public bool Sweep(DateTimeOffset now)
    {
        var changed = false;
        foreach (var (cluster, state) in _clusters.ToList())
        {
            var silent = now - state.LastHeard;
            if (silent >= options.ForgetAfter)
            {
                changed |= state.Exports.Count > 0 || state.Alive;
                _clusters.Remove(cluster);
                continue;
            }
            if (state.Alive && silent >= options.DeadAfter)
            {
                state.Alive = false;
                changed = true;
            }
            if (!state.Alive)
                continue;
            // The cluster speaks but no longer announces this export: its withdrawal was lost.
            foreach (var (service, held) in state.Exports.ToList())
            {
                if (now - held.Heard >= options.ExportExpiry)
                {
                    state.Exports.Remove(service);
                    changed = true;
                }
            }
        }
        return changed;
    }

    public bool IsAlive(string cluster) => _clusters.TryGetValue(cluster, out var state) && state.Alive;

    /// <summary>Every remote export held, of live and dead clusters alike.</summary>
    public IReadOnlyList<ClusterExport> Exports() =>
        _clusters.Values.SelectMany(s => s.Exports.Values).Select(e => e.Announcement.ToExport()!).ToList();

    /// <summary>The clusters heard from, with whether each is alive and when it was last heard.</summary>
    public IReadOnlyList<(string Cluster, bool Alive, DateTimeOffset LastHeard)> Clusters() =>
        _clusters.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value.Alive, c.Value.LastHeard)).ToList();

    private static bool SameExport(ServiceAnnouncement a, ServiceAnnouncement b) =>
        ServiceAnnouncementCodec.Encode(a with { Sequence = 0 }).AsSpan().SequenceEqual(ServiceAnnouncementCodec.Encode(b with { Sequence = 0 }));
}
