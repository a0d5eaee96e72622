namespace Patronus.Agent.Paths;

/// <summary>
/// Which members have lost every path: the signal multi-cluster services withdraw a cluster's endpoints on, some
/// hundred milliseconds before its heartbeats would tell.
/// </summary>
public static class MemberReachability
{
    /// <summary>
    /// The members whose probed paths are all Down and silent since they went Down, and of which at least one had
    /// answered before. A path that never answered says nothing yet (a starting agent, a responder not reached so far):
    /// the member's other signals decide. A reply ends the verdict at once, before the path's recovery hold-down lets
    /// it carry traffic again: the member is reachable, its endpoints may come back.
    /// </summary>
    public static IReadOnlySet<string> Unreachable(IEnumerable<(string MemberId, PathStatus Status)> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var lost = new HashSet<string>(StringComparer.Ordinal);
        var reachable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (member, status) in paths)
        {
            if (status.LastReplyAt is not { } replied)
                continue;
            if (status.State == PathState.Down && replied <= status.StateSince)
                lost.Add(member);
            else
                reachable.Add(member);
        }
        lost.ExceptWith(reachable);
        return lost;
    }
}
